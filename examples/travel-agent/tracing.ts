/**
 * An OpenTelemetry SDK in the demo process, in memory: what an application
 * installs to see breakwater's spans (here with an exporter that keeps them
 * for the tree at the end, where a real one would ship them to a backend).
 * breakwater itself only ever calls `@opentelemetry/api`.
 */
import { context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { padEnd, type Style, visibleLength } from '../shared/style.js';

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Without a context manager no span has a parent: there is one per process. */
function ensureContextManager(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

export interface RunTracing {
  readonly tracer: Tracer;
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

/** A tracer provider of the run's own (not the global one), so runs side by side keep their spans apart. */
export function createRunTracing(): RunTracing {
  ensureContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    tracer: provider.getTracer('breakwater', '0.1.0'),
    spans: () => exporter.getFinishedSpans(),
    shutdown: () => provider.shutdown(),
  };
}

function ms(span: ReadableSpan): number {
  return span.duration[0] * 1_000 + span.duration[1] / 1e6;
}

function startOf(span: ReadableSpan): number {
  return span.startTime[0] * 1e9 + span.startTime[1];
}

function attr(span: ReadableSpan, key: string): string | undefined {
  const v = span.attributes[key];
  return v === undefined ? undefined : String(v);
}

function countEvents(span: ReadableSpan, name: string): number {
  return span.events.filter((e) => e.name === name).length;
}

/** The notable events of an operation, in a few words. */
function eventNotes(span: ReadableSpan): string[] {
  const notes: string[] = [];
  const retries = countEvents(span, 'breakwater.retry');
  if (retries > 0) notes.push(`retry ×${retries}`);
  if (countEvents(span, 'breakwater.cooldown') > 0) notes.push('cooldown');
  for (const e of span.events) {
    const a = e.attributes ?? {};
    if (e.name === 'breakwater.breaker.transition')
      notes.push(`breaker ${String(a['breakwater.breaker.from'])}→${String(a['breakwater.breaker.to'])}`);
    if (e.name === 'breakwater.fallback')
      notes.push(`fallback ${String(a['breakwater.fallback.from'])}→${String(a['breakwater.fallback.to'])}`);
    if (e.name === 'breakwater.rejected') notes.push(`rejected: ${String(a['breakwater.rejected.reason'])}`);
    if (e.name === 'breakwater.ledger') notes.push(`ledger ${String(a['breakwater.ledger.action'])}`);
    if (e.name === 'breakwater.reconciled')
      notes.push(a['breakwater.reconciled.found'] === true ? 'reconciled: found' : 'reconciled: absent');
    if (e.name === 'breakwater.outcome_unknown') notes.push('outcome unknown');
  }
  return [...new Set(notes)];
}

function outcomeOf(span: ReadableSpan, s: Style): string {
  const outcome = attr(span, 'breakwater.outcome') ?? attr(span, 'breakwater.attempt.outcome');
  if (outcome === 'ok') return s.green('ok');
  if (outcome === 'unknown') return s.yellow('unknown');
  if (outcome === 'failed') return s.red(attr(span, 'error.type') ?? 'failed');
  return s.dim(outcome ?? '');
}

function describeSpan(span: ReadableSpan, s: Style): string {
  const parts = [s.bold(span.name)];
  if (span.name.startsWith('chat '))
    parts.push(
      s.dim(`${attr(span, 'gen_ai.provider.name') ?? ''} #${attr(span, 'breakwater.attempt') ?? '?'}`),
    );
  if (span.name.startsWith('breakwater.attempt'))
    parts.push(s.dim(`#${attr(span, 'breakwater.attempt') ?? '?'}`));
  parts.push(outcomeOf(span, s));
  const attempts = attr(span, 'breakwater.attempts');
  if (attempts !== undefined && attempts !== '1') parts.push(`${attempts} attempts`);
  parts.push(...eventNotes(span).map((n) => s.yellow(n)));
  return parts.filter((p) => p !== '').join(' · ');
}

/**
 * The run's spans as a tree, one line each. An operation whose single
 * attempt succeeded shows no attempt line: the tree is for seeing what
 * went wrong and what was done about it.
 */
export function spanTree(spans: readonly ReadableSpan[], s: Style): string[] {
  const byId = new Map(spans.map((sp) => [sp.spanContext().spanId, sp]));
  const children = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[] = [];
  for (const sp of spans) {
    const parent = sp.parentSpanContext?.spanId;
    if (parent !== undefined && byId.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(sp);
      children.set(parent, list);
    } else roots.push(sp);
  }
  const lines: { text: string; ms: number }[] = [];
  const visit = (sp: ReadableSpan, prefix: string, last: boolean, depth: number) => {
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    lines.push({ text: `${s.dim(prefix + branch)}${describeSpan(sp, s)}`, ms: ms(sp) });
    let kids = (children.get(sp.spanContext().spanId) ?? []).sort((a, b) => startOf(a) - startOf(b));
    const single = kids.length === 1 && kids[0]!.status.code !== 2 && sp.name.startsWith('execute_tool');
    if (single) kids = [];
    const next = depth === 0 ? '' : prefix + (last ? '   ' : '│  ');
    for (const [i, k] of kids.entries()) visit(k, next, i === kids.length - 1, depth + 1);
  };
  roots.sort((a, b) => startOf(a) - startOf(b));
  for (const [i, r] of roots.entries()) visit(r, '', i === roots.length - 1, 0);
  const width = Math.min(100, Math.max(...lines.map((l) => visibleLength(l.text))) + 2);
  return lines.map((l) => `${padEnd(l.text, width)}${s.dim(`${Math.round(l.ms)} ms`.padStart(8))}`);
}
