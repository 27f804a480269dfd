export * as semconv from './semconv.js';
export {
  type AttemptTarget,
  type ChatResult,
  type ContentField,
  createTelemetry,
  type OperationScope,
  type OperationSpec,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
