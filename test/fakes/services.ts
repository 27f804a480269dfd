/**
 * Moved to `breakwater/testing` (src/testing/services.ts); kept so existing
 * imports compile, with the old positional signatures and names.
 */
import { createFakeImageApi, type ImageApi } from '../../src/testing/image-api.js';
import { createFakePaymentApi, type PaymentApi } from '../../src/testing/payment-api.js';
import { createFakeSearchApi } from '../../src/testing/search-api.js';
import type { FakeService, FakeServiceOptions } from '../../src/testing/service-server.js';
import type { Tracker } from '../../src/testing/step-clock.js';

export type { Image, ImageApi } from '../../src/testing/image-api.js';
export type { Charge, PaymentApi } from '../../src/testing/payment-api.js';
/** The faults the suite was written against (the kit has more). */
export type Fault =
  | 'none'
  | 'reset_before_read'
  | 'reset_after_processing'
  | 'error_500_after_processing'
  | 'slow_after_processing'
  | 'slow_before_processing'
  | 'rate_limited';
export type FakeServer = FakeService;
export type ServiceOptions = Omit<FakeServiceOptions, 'tracker'>;

/** The faults the chaos suites draw from (fixed here so new kit faults do not change their search space). */
export const FAULTS: readonly Fault[] = [
  'none',
  'reset_before_read',
  'reset_after_processing',
  'error_500_after_processing',
  'slow_after_processing',
  'slow_before_processing',
  'rate_limited',
];

export function startPaymentApi(tracker?: Tracker, options: ServiceOptions = {}): Promise<PaymentApi> {
  return createFakePaymentApi({ ...options, ...(tracker ? { tracker } : {}) });
}

export function startImageApi(tracker?: Tracker, options: ServiceOptions = {}): Promise<ImageApi> {
  return createFakeImageApi({ ...options, ...(tracker ? { tracker } : {}) });
}

export function startSearchApi(tracker?: Tracker, options: ServiceOptions = {}): Promise<FakeService> {
  return createFakeSearchApi({ ...options, ...(tracker ? { tracker } : {}) });
}
