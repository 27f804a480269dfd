export { type ProveDeliveryOptions, proveDelivery } from './attempt-delivery.js';
export { type ClassifyHints, classify, classifyHttp } from './classify.js';
export {
  type ClassifyingFetchOptions,
  ConnectTimeoutError,
  createClassifyingFetch,
  type FetchLike,
} from './classifying-fetch.js';
export {
  annotateDelivery,
  createDeliveryRecord,
  type DeliveryRecord,
  type DeliveryTrace,
  deliveryAnnotation,
  requestWritten,
  traceOf,
  withDeliveryRecord,
} from './delivery-probe.js';
export {
  BreakwaterError,
  type BreakwaterErrorCode,
  type BreakwaterErrorOptions,
  CancelledError,
  CircuitOpenError,
  DependencyFailedError,
  FallbackFailedError,
  GateRejectedError,
  type GateRejection,
  type InputIssue,
  InvalidInputError,
  isBreakwaterError,
  type Outcome,
  OutcomeUnknownError,
  RateLimitedError,
  ResultRejectedError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from './errors.js';
export {
  type AttemptRecord,
  DELIVERIES,
  type Delivery,
  FAILURE_KINDS,
  type Failure,
  type FailureKind,
} from './failure.js';
export { type HeaderBag, readHeaders } from './headers.js';
export { isNotSentError, NotSentError } from './not-sent.js';
export {
  ABSURD_WAIT_MS,
  parseGoDuration,
  parseResetTimestamp,
  parseRetryAfter,
  parseRetryAfterValue,
  parseShouldRetry,
} from './retry-after.js';
