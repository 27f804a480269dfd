/**
 * Moved to `breakwater/testing` (src/testing/services.ts); kept so existing
 * imports compile, with the old positional signatures and names.
 */
import {
  createFakeImageApi,
  createFakePaymentApi,
  createFakeSearchApi,
  type FakeService,
  type FakeServiceOptions,
  type ImageApi,
  type PaymentApi,
  type ServiceFault,
} from '../../src/testing/services.js';
import type { Tracker } from '../../src/testing/step-clock.js';

export type { Charge, Image, ImageApi, PaymentApi } from '../../src/testing/services.js';
export type Fault = ServiceFault;
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
