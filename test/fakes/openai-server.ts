/** Moved to `breakwater/testing` (src/testing/openai.ts); kept so existing imports compile. */
import type { FakeModel } from '../../src/testing/model-server.js';
import { createFakeOpenAI, openaiReplies } from '../../src/testing/openai.js';
import type { RecordedRequest } from '../../src/testing/scripted-server.js';

export {
  type FakeToolCall,
  type OpenAIStreamFault as StreamFault,
  openaiReplies,
} from '../../src/testing/openai.js';

const isStream = (r: RecordedRequest) => (r.body as { stream?: unknown } | undefined)?.stream === true;

/** The old fake: answers `ok` (a stream of `o`, `k`) unless scripted otherwise, as the suite expects. */
export async function startFakeOpenAI(): Promise<FakeModel> {
  const server = await createFakeOpenAI();
  return server.respond((r) => {
    if (r.method !== 'POST' || r.path !== '/v1/chat/completions') return openaiReplies.error(404);
    return isStream(r) ? openaiReplies.streamText(['o', 'k']) : openaiReplies.text('ok');
  });
}
