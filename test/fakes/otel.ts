import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface MetricPoint {
  readonly name: string;
  readonly attributes: Record<string, unknown>;
  /** Counter/gauge value, or histogram count. */
  readonly value: number;
  readonly sum?: number;
}

/**
 * A real OpenTelemetry SDK in memory: the tracer provider, the
 * AsyncLocalStorage context manager (without it no span has a parent) and a
 * pull metric reader, installed globally for one test and removed after.
 */
export function installOtel() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);

  return {
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    span(name: string): ReadableSpan {
      const s = exporter.getFinishedSpans().find((x) => x.name === name);
      if (!s)
        throw new Error(
          `no span named "${name}" in ${exporter
            .getFinishedSpans()
            .map((x) => x.name)
            .join(', ')}`,
        );
      return s;
    },
    children(parent: ReadableSpan): ReadableSpan[] {
      return exporter
        .getFinishedSpans()
        .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
    },
    async points(): Promise<MetricPoint[]> {
      const { resourceMetrics } = await reader.collect();
      return flatten(resourceMetrics);
    },
    async uninstall(): Promise<void> {
      await provider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
      contextManager.disable();
    },
  };
}

function flatten(rm: ResourceMetrics): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      for (const dp of m.dataPoints as Array<{ attributes: Record<string, unknown>; value: unknown }>) {
        const v = dp.value;
        if (typeof v === 'number') out.push({ name: m.descriptor.name, attributes: dp.attributes, value: v });
        else if (v && typeof v === 'object' && 'count' in v) {
          const h = v as { count: number; sum?: number };
          out.push({ name: m.descriptor.name, attributes: dp.attributes, value: h.count, sum: h.sum ?? 0 });
        }
      }
    }
  }
  return out;
}

/** Every string in every attribute and event of every span, for leak scans. */
export function everyRecordedString(spans: readonly ReadableSpan[]): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) add(x);
    else if (v !== null && v !== undefined) out.push(String(v));
  };
  for (const s of spans) {
    out.push(s.name);
    if (s.status.message) out.push(s.status.message);
    for (const v of Object.values(s.attributes)) add(v);
    for (const e of s.events) {
      out.push(e.name);
      for (const v of Object.values(e.attributes ?? {})) add(v);
    }
  }
  return out;
}
