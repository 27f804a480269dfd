export {
  IdempotencyKeyReusedError,
  LedgerFullError,
  LedgerUnavailableError,
  OperationInFlightError,
  PreviousOutcomeUnknownError,
  ReplayUnavailableError,
} from './errors.js';
export { canonicalize, fingerprint } from './fingerprint.js';
export { assertValidKey, contentKey, isValidKey, keyFromCallId, randomKey } from './keys.js';
export {
  type ClaimCheck,
  createLedger,
  type Ledger,
  type LedgerOptions,
  type LedgerReconciliation,
  type LedgerResult,
  type LedgerRunOptions,
  type LedgerSource,
} from './ledger.js';
