/**
 * What telemetry costs on the happy path: the full pipeline with the
 * telemetry observer and no SDK installed (the OpenTelemetry API's no-op),
 * and with a real SDK whose exporter drops everything.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type Measured, measure, table } from './harness.js';
import { bw } from './library.js';

const dropAll: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

export async function telemetryBench(): Promise<{ rows: Measured[]; text: string }> {
  const noop = async () => 1;
  const rows: Measured[] = [];
  rows.push(await measure('bare call', () => noop()));
  const plain = bw.createPolicy('idempotent');
  rows.push(await measure('createPolicy, no telemetry', () => plain.run(noop)));

  const noSdk = bw.createTelemetry();
  const withNoop = bw.createPolicy('idempotent', {
    observer: noSdk.observer({ type: 'policy', name: 'bench' }),
  });
  rows.push(await measure('createPolicy + telemetry, no SDK installed', () => withNoop.run(noop)));

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropAll)] });
  const meterProvider = new MeterProvider();
  const sdk = bw.createTelemetry({
    tracer: tracerProvider.getTracer('bench'),
    meter: meterProvider.getMeter('bench'),
  });
  const withSdk = bw.createPolicy('idempotent', {
    observer: sdk.observer({ type: 'policy', name: 'bench' }),
  });
  rows.push(
    await measure('createPolicy + telemetry, SDK with a no-op exporter', () => withSdk.run(noop), 50_000),
  );
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  context.disable();

  const bare = rows[0]!.nsPerCall;
  const text = table(
    ['configuration', 'ns per call', 'added ns'],
    rows.map((r) => [r.name, r.nsPerCall, r.nsPerCall - bare]),
  );
  return { rows, text };
}
