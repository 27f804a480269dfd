/**
 * What a run did, in numbers: per dependency (operations, attempts,
 * retries, fallbacks, breaker transitions) — read back from the run's
 * OpenTelemetry spans, so the table is what a trace backend would show — and
 * what really happened at the services (seats, rooms, charges, images),
 * counted by the services themselves.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { duration, euros, padEnd, padStart, type Style } from '../shared/style.js';
import type { ModelServerStats } from './model-server.js';
import type { Chaos } from './schedule.js';
import type { ServiceStats } from './services.js';

export interface DependencyRow {
  readonly dependency: string;
  readonly kind: 'model' | 'tool';
  /** Logical calls that reached or were refused by this dependency. */
  readonly operations: number;
  /** Requests sent. */
  readonly attempts: number;
  /** Attempts beyond the first of each operation. */
  readonly retries: number;
  /** Operations refused without a request: the breaker was open. */
  readonly skipped: number;
  /** Operations answered from the idempotency ledger. */
  readonly replayed: number;
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
}

export interface Transition {
  readonly dependency: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface Fallback {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface RunSummary {
  readonly mode: 'breakwater' | 'naive';
  readonly chaos: Chaos;
  readonly seed: number;
  readonly offline: boolean;
  /** Flight and hotel booked and the card charged, as the agent saw it. */
  readonly tripBooked: boolean;
  readonly answer: string | undefined;
  readonly error: string | undefined;
  readonly turns: number;
  readonly durationMs: number;
  readonly failover: boolean;
  readonly totals: {
    readonly operations: number;
    readonly attempts: number;
    readonly retries: number;
    readonly fallbacks: number;
    readonly breakerTransitions: number;
  };
  readonly dependencies: readonly DependencyRow[];
  readonly fallbacks: readonly Fallback[];
  readonly breakerTransitions: readonly Transition[];
  /** Counted by the services: what really happened. */
  readonly services: ServiceStats;
  /** Counted by the local model server (offline runs only). */
  readonly models: ModelServerStats | undefined;
  /** Spans recorded (breakwater runs). */
  readonly spans: number | undefined;
}

function str(v: unknown): string {
  return v === undefined ? '' : String(v);
}

/** A dependency's row as it is being counted. */
export type Counts = { -readonly [K in keyof DependencyRow]: DependencyRow[K] };

/** The row for `dependency`, made empty on first use. */
export function row(rows: Map<string, Counts>, dependency: string, kind: 'model' | 'tool'): Counts {
  let r = rows.get(dependency);
  if (!r) {
    r = {
      dependency,
      kind,
      operations: 0,
      attempts: 0,
      retries: 0,
      skipped: 0,
      replayed: 0,
      ok: 0,
      failed: 0,
      unknown: 0,
    };
    rows.set(dependency, r);
  }
  return r;
}

/** Per-dependency numbers, fallbacks and breaker transitions, from the spans of one run. */
export function fromSpans(spans: readonly ReadableSpan[]): {
  dependencies: DependencyRow[];
  fallbacks: Fallback[];
  breakerTransitions: Transition[];
  routes: number;
} {
  const rows = new Map<string, Counts>();
  const fallbacks: Fallback[] = [];
  const transitions: Transition[] = [];
  const byParent = new Map<string, ReadableSpan[]>();
  for (const sp of spans) {
    const p = sp.parentSpanContext?.spanId;
    if (p !== undefined) byParent.set(p, [...(byParent.get(p) ?? []), sp]);
  }
  let routes = 0;
  for (const sp of spans) {
    for (const e of sp.events) {
      const a = e.attributes ?? {};
      if (e.name === 'breakwater.breaker.transition')
        transitions.push({
          dependency: str(a['breakwater.dependency']),
          from: str(a['breakwater.breaker.from']),
          to: str(a['breakwater.breaker.to']),
          reason: str(a['breakwater.breaker.reason']),
        });
      if (e.name === 'breakwater.fallback')
        fallbacks.push({
          from: str(a['breakwater.fallback.from']),
          to: str(a['breakwater.fallback.to']),
          reason: str(a['breakwater.fallback.reason']),
        });
    }
    if (sp.name.startsWith('execute_tool ')) {
      const r = row(rows, str(sp.attributes['gen_ai.tool.name']), 'tool');
      const attempts = Number(sp.attributes['breakwater.attempts'] ?? 0);
      r.operations++;
      r.attempts += attempts;
      if (attempts > 0) r.retries += attempts - 1;
      if (sp.attributes['breakwater.replayed'] === true) r.replayed++;
      const outcome = str(sp.attributes['breakwater.outcome']);
      if (outcome === 'ok') r.ok++;
      else if (outcome === 'unknown') r.unknown++;
      else r.failed++;
    }
    if (sp.name.startsWith('breakwater.route ')) {
      routes++;
      // Per provider within this routed call: its attempts, and whether it answered or was skipped.
      const perProvider = new Map<string, { attempts: number; ok: boolean }>();
      for (const c of byParent.get(sp.spanContext().spanId) ?? []) {
        if (!c.name.startsWith('chat ')) continue;
        const dep = str(c.attributes['breakwater.dependency']);
        const p = perProvider.get(dep) ?? { attempts: 0, ok: false };
        p.attempts++;
        if (c.attributes['breakwater.attempt.outcome'] === 'ok') p.ok = true;
        perProvider.set(dep, p);
      }
      for (const [dep, p] of perProvider) {
        const r = row(rows, dep, 'model');
        r.operations++;
        r.attempts += p.attempts;
        r.retries += p.attempts - 1;
        if (p.ok) r.ok++;
        else r.failed++;
      }
      for (const e of sp.events) {
        const dep = str(e.attributes?.['breakwater.dependency']);
        if (e.name === 'breakwater.rejected' && !perProvider.has(dep)) {
          const r = row(rows, dep, 'model');
          r.operations++;
          r.skipped++;
        }
      }
    }
  }
  const order = (r: DependencyRow) => (r.kind === 'model' ? 0 : 1);
  return {
    dependencies: [...rows.values()].sort((a, b) => order(a) - order(b)),
    fallbacks,
    breakerTransitions: transitions,
    routes,
  };
}

export function totalsOf(
  dependencies: readonly DependencyRow[],
  fallbacks: number,
  transitions: number,
  routes: number,
): RunSummary['totals'] {
  const tools = dependencies.filter((d) => d.kind === 'tool');
  const sum = (f: (d: DependencyRow) => number) => dependencies.reduce((n, d) => n + f(d), 0);
  return {
    // A routed model call is one operation however many providers it touched.
    operations: tools.reduce((n, d) => n + d.operations, 0) + routes,
    attempts: sum((d) => d.attempts),
    retries: sum((d) => d.retries),
    fallbacks,
    breakerTransitions: transitions,
  };
}

function outcomeWords(d: DependencyRow, s: Style): string {
  const parts: string[] = [];
  if (d.kind === 'model') {
    if (d.ok > 0) parts.push(s.green(`${d.ok} answered`));
    if (d.failed > 0) parts.push(s.red(`${d.failed} failed`));
    if (d.skipped > 0) parts.push(s.cyan(`${d.skipped} skipped, breaker open`));
    return parts.join(', ');
  }
  const ran = d.ok - d.replayed;
  if (ran > 0) parts.push(s.green(`${ran} ok`));
  if (d.replayed > 0) parts.push(s.magenta(`${d.replayed} replayed`));
  if (d.unknown > 0) parts.push(s.yellow(`${d.unknown} outcome unknown`));
  if (d.failed > 0) parts.push(s.red(`${d.failed} failed`));
  return parts.join(', ');
}

export function summaryTable(r: RunSummary, s: Style): string[] {
  const head = ['', 'operations', 'attempts', 'retries', 'outcome'];
  const body = r.dependencies.map((d) => [
    d.dependency,
    String(d.operations),
    String(d.attempts),
    String(d.retries),
    outcomeWords(d, s),
  ]);
  const total = [
    'total',
    String(r.totals.operations),
    String(r.totals.attempts),
    String(r.totals.retries),
    '',
  ];
  const width = Math.max(...[...body, total].map((c) => c[0]!.length)) + 2;
  const line = (c: string[], bold = false) => {
    const text = `${padEnd(c[0]!, width)}${padStart(c[1]!, 10)}${padStart(c[2]!, 10)}${padStart(c[3]!, 9)}   ${c[4]!}`;
    return bold ? s.bold(text) : text;
  };
  const out = [s.dim(line(head)), ...body.map((c) => line(c)), line(total, true)];
  const fb = r.fallbacks.length;
  const pairs = [...new Set(r.fallbacks.map((f) => `${f.from} → ${f.to}`))].join(', ');
  out.push(
    `fallbacks ${s.bold(String(fb))}${fb > 0 ? ` (${pairs})` : ''} · breaker transitions ${s.bold(String(r.breakerTransitions.length))}${
      r.breakerTransitions.length > 0
        ? ` (${r.breakerTransitions.map((t) => `${t.dependency} ${t.from} → ${t.to}`).join(', ')})`
        : ''
    }`,
  );
  const v = r.services;
  const bad = (n: number, limit: number) => (n > limit ? s.red(String(n)) : s.green(String(n)));
  out.push('', s.bold('at the services — what really happened'));
  out.push(
    `  card charges ${bad(v.charges, 1)}${v.charges > 0 ? ` (${euros(v.chargedEur)})` : ''} · seats booked ${bad(v.seats, 1)} · rooms booked ${bad(v.rooms, 1)} · images rendered ${bad(v.images, 1)}`,
  );
  out.push(
    `  hotel searches refused while rate-limited ${v.hotelSearchesRefused} · answers replayed by the services' idempotency keys ${v.keyReplays}`,
  );
  if (r.models)
    out.push(
      `  model requests: openai ${r.models.openai.requests} (${r.models.openai.failed} failed) · anthropic ${r.models.anthropic.requests} (${r.models.anthropic.failed} failed)`,
    );
  out.push(
    `  trip booked ${r.tripBooked ? s.green('yes') : s.red('no')} · ${r.turns} model turns · ${duration(r.durationMs)}${r.spans !== undefined ? ` · ${r.spans} spans` : ''}`,
  );
  return out;
}

/** breakwater's run and the naive one, side by side, with what the naive one cost. */
export function comparisonTable(bw: RunSummary, naive: RunSummary, s: Style): string[] {
  const rows: [string, string, string, string][] = [];
  const add = (what: string, a: string | number, b: string | number, cost = '') =>
    rows.push([what, String(a), String(b), cost]);
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  add('trip booked', yes(bw.tripBooked), yes(naive.tripBooked));
  const twice = (n: number, words: string) => (n > 1 ? s.red(`✗ ${words}`) : '');
  add(
    'card charges at the payment server',
    bw.services.charges,
    naive.services.charges,
    twice(naive.services.charges, 'double charge'),
  );
  add('charged in all', euros(bw.services.chargedEur), euros(naive.services.chargedEur));
  add('seats booked', bw.services.seats, naive.services.seats, twice(naive.services.seats, 'double booking'));
  add('rooms booked', bw.services.rooms, naive.services.rooms, twice(naive.services.rooms, 'double booking'));
  add(
    'images rendered',
    bw.services.images,
    naive.services.images,
    twice(naive.services.images, 'duplicate image'),
  );
  const herd = naive.services.hotelSearchesRefused > bw.services.hotelSearchesRefused;
  add(
    'hotel searches sent into the rate limit',
    bw.services.hotelSearchesRefused,
    naive.services.hotelSearchesRefused,
    herd ? s.red('✗ thundering herd') : '',
  );
  if (bw.models && naive.models) {
    const hammer = naive.models.openai.failed > bw.models.openai.failed;
    add(
      'requests to openai while it was down',
      bw.models.openai.failed,
      naive.models.openai.failed,
      hammer ? s.red('✗ hammering a dead provider') : '',
    );
  }
  add('requests sent in all', bw.totals.attempts, naive.totals.attempts);
  add('wall time', duration(bw.durationMs), duration(naive.durationMs));
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    s.dim(`${padEnd('', w)}${padEnd('breakwater', 14)}${padEnd('naive retry', 14)}`),
    ...rows.map(([what, a, b, cost]) => `${padEnd(what, w)}${padEnd(a, 14)}${padEnd(b, 14)}${cost}`),
  ];
}
