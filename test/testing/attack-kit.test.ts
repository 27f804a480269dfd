/**
 * Outside attacks on `breakwater/testing`, through its public names only.
 */
import http from 'node:http';
import {
  createFakeAnthropic,
  createFakeImageApi,
  createFakeOpenAI,
  createFakePaymentApi,
  createFakeSearchApi,
} from 'breakwater/testing';
import { describe, expect, it } from 'vitest';

/** The handles a fake can leave behind: listening servers, sockets, timers. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo())
    if (r === 'TCPServerWrap' || r === 'TCPSocketWrap' || r === 'Timeout') out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** A request on its own socket (no pool): settles once that socket is closed, whatever happened. */
function request(url: string, path: string, body?: unknown): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = http.request(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      res.on('data', () => undefined);
      res.on('error', () => undefined);
    });
    req.on('close', () => {
      // The client's socket is closed by now: its handle is gone when 'close' is emitted.
      const s = req.socket;
      if (s === null || s.destroyed) resolve();
      else s.once('close', () => resolve());
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Waits, by event-loop turns and never by time, until `cond` holds. */
async function turnsUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const order = { order: 'A-17', amount: 4_200, currency: 'eur' };
const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 16 };

describe('close() leaves no open handle: the process can exit', () => {
  it('a payment API with an answer on a timer, a stalled answer and a held request', async () => {
    const before = handles();
    const pay = await createFakePaymentApi({ slowAnswerMs: 3_600_000 });
    pay.inject(['slow_answer', 'slow_after_processing', 'slow_before_processing']);
    const pending = [1, 2, 3].map(() => request(pay.url, '/v1/charges', order));
    await turnsUntil(() => pay.counters.processed === 2 && pay.counters.requests === 3);
    await pay.close();
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });

  it('the image and search APIs with answers on timers', async () => {
    const before = handles();
    const image = await createFakeImageApi({ slowAnswerMs: 3_600_000 });
    const search = await createFakeSearchApi({ slowAnswerMs: 3_600_000 });
    image.inject(['slow_answer', 'slow_after_processing']);
    search.inject(['slow_after_processing', 'slow_before_processing']);
    const pending = [
      request(image.url, '/v1/images', { prompt: 'a boat' }),
      request(image.url, '/v1/images', { prompt: 'a boat' }),
      request(search.url, '/search?q=boats'),
      request(search.url, '/search?q=boats'),
    ];
    await turnsUntil(() => image.counters.requests === 2 && search.counters.requests === 2);
    await turnsUntil(() => image.counters.processed === 2 && search.counters.processed === 2);
    await Promise.all([image.close(), search.close()]);
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });

  it('the model fakes with a stalled stream, a cut one and a slow answer', async () => {
    const before = handles();
    const openai = await createFakeOpenAI({ turns: [{ text: 'hello there' }] });
    const anthropic = await createFakeAnthropic({ turns: [{ text: 'hello there' }] });
    openai.inject(['stream_stall', 'slow_answer', 'slow_after_processing']);
    anthropic.inject(['stream_stall', 'stream_cut', 'slow_answer']);
    const pending = [
      ...[1, 2, 3].map(() => request(openai.url, '/v1/chat/completions', chat)),
      ...[1, 2, 3].map(() => request(anthropic.url, '/v1/messages', chat)),
    ];
    await openai.until((r) => r.length === 3);
    await anthropic.until((r) => r.length === 3);
    await Promise.all([openai.close(), anthropic.close()]);
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });
});
