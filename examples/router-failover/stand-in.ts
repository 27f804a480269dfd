/**
 * Not part of the example: local stand-ins for the two providers, so that it
 * runs offline through the real `openai` and `@anthropic-ai/sdk` clients —
 * the fake providers of `breakwater/testing`. OpenAI answers 429 with a
 * ten-minute Retry-After; Anthropic answers.
 */
import { createFakeAnthropic, createFakeOpenAI } from 'breakwater/testing';

export async function startModelStandIns() {
  const openai = await createFakeOpenAI({ retryAfterMs: 600_000 });
  openai.inject(() => 'rate_limited'); // every request: 429, Retry-After: 600
  const anthropic = await createFakeAnthropic({
    fallback: { text: 'Air scatters short blue wavelengths more than long red ones.' },
  });
  return {
    openai: { baseURL: openai.baseURL, apiKey: 'sk-stand-in' },
    anthropic: { baseURL: anthropic.baseURL, apiKey: 'sk-ant-stand-in' },
    openaiRequests: () => openai.counters.requests,
    close: () => Promise.all([openai.close(), anthropic.close()]).then(() => undefined),
  };
}
