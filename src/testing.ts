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
  createFakeOpenAI,
  type FakeToolCall,
  type OpenAIStreamFault,
  openaiReplies,
} from './testing/openai.js';
export {
  type FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  type Responder,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './testing/scripted-server.js';
export {
  type Charge,
  createFakeImageApi,
  createFakePaymentApi,
  createFakeSearchApi,
  type FakeService,
  type FakeServiceOptions,
  type Image,
  type ImageApi,
  type PaymentApi,
  SERVICE_FAULTS,
  type ServiceFault,
} from './testing/services.js';
export {
  createStepClock,
  createTracker,
  drive,
  type StepClock,
  TRACK_HEADER,
  type Tracker,
} from './testing/step-clock.js';
