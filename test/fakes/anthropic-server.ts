/** Moved to `breakwater/testing` (src/testing/anthropic.ts); kept so existing imports compile. */
export {
  type AnthropicStreamFault as StreamFault,
  anthropicReplies,
  createFakeAnthropic as startFakeAnthropic,
  type FakeToolUse,
} from '../../src/testing/anthropic.js';
