/**
 * `breakwater/testing`: the local fakes, clocks and chaos runner breakwater
 * tests itself with, for testing your own agent. Its own entry point, so that
 * the main entry never loads `node:http` servers into production code.
 */
export {
  type AnthropicStreamFault,
  anthropicReplies,
  createFakeAnthropic,
  type FakeToolUse,
} from './testing/anthropic.js';
export {
  type ChaosFailure,
  type ChaosFaults,
  type ChaosOptions,
  type ChaosReport,
  formatSchedule,
  type Injectable,
  type Invariant,
  invariants,
  runChaos,
} from './testing/chaos.js';
export { type ChaosSchedule, type ScheduleShape, scheduleFromSeed } from './testing/chaos-schedule.js';
export {
  AFTER_PROCESSING_FAULTS,
  createFaultPlan,
  FAULTS,
  type Fault,
  type FaultPlan,
  type FaultRequest,
  type FaultSchedule,
} from './testing/faults.js';
export { createFakeImageApi, type Image, type ImageApi } from './testing/image-api.js';
export type { FakeModel, FakeModelOptions } from './testing/model-server.js';
export {
  createFakeOpenAI,
  type FakeEmbeddingsOptions,
  type FakeToolCall,
  type OpenAIStreamFault,
  openaiReplies,
} from './testing/openai.js';
export { type Charge, createFakePaymentApi, type PaymentApi } from './testing/payment-api.js';
export { createSeededRandom } from './testing/prng.js';
export {
  type FakeCounters,
  type FakeHttpServer,
  type FakeHttpServerOptions,
  type FakeReply,
  type FaultReplies,
  type RecordedRequest,
  type Responder,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './testing/scripted-server.js';
export { createFakeSearchApi } from './testing/search-api.js';
export {
  type FakeService,
  type FakeServiceOptions,
  SERVICE_FAULTS,
  type ServiceFault,
} from './testing/service-server.js';
export {
  createStepClock,
  createTracker,
  drive,
  type StepClock,
  TRACK_HEADER,
  type Tracker,
} from './testing/step-clock.js';
export {
  type TestClock,
  type TestClockOptions,
  type TestHooks,
  useVirtualClock,
} from './testing/test-clock.js';
export type { ScriptedToolCall, ScriptedTurn, Turn } from './testing/turns.js';
