/** Moved to `breakwater/testing` (src/testing/scripted-server.ts); kept so existing imports compile. */
export {
  FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  type Responder,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from '../../src/testing/scripted-server.js';
