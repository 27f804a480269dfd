/** Moved to `breakwater/testing` (src/testing/openai.ts); kept so existing imports compile. */
export {
  createFakeOpenAI as startFakeOpenAI,
  type FakeToolCall,
  type OpenAIStreamFault as StreamFault,
  openaiReplies,
} from '../../src/testing/openai.js';
