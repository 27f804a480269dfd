/** Moved to `breakwater/testing` (src/testing/anthropic.ts); kept so existing imports compile. */
import { anthropicReplies, createFakeAnthropic } from '../../src/testing/anthropic.js';
import type { FakeModel } from '../../src/testing/model-server.js';
import type { RecordedRequest } from '../../src/testing/scripted-server.js';

export {
  type AnthropicStreamFault as StreamFault,
  anthropicReplies,
  type FakeToolUse,
} from '../../src/testing/anthropic.js';

const isStream = (r: RecordedRequest) => (r.body as { stream?: unknown } | undefined)?.stream === true;

/** The old fake: answers `ok` (a stream of `o`, `k`) unless scripted otherwise, as the suite expects. */
export async function startFakeAnthropic(): Promise<FakeModel> {
  const server = await createFakeAnthropic();
  return server.respond((r) => {
    if (r.method !== 'POST' || r.path !== '/v1/messages')
      return anthropicReplies.error(404, 'not_found_error');
    return isStream(r) ? anthropicReplies.streamText(['o', 'k']) : anthropicReplies.text('ok');
  });
}
