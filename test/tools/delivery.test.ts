/**
 * Delivery is proven per attempt (issue 12, items 1 and 3), through the public
 * API against real local HTTP: a later "not sent" failure never un-sends an
 * earlier effect of the same attempt, an error code from a client breakwater
 * does not watch is no proof for a non-idempotent tool, and a request fetch
 * refuses to make at all is `not_sent`, leaving its key free.
 */

import { createStepClock, createTracker, drive } from 'breakwater/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { NotSentError } from '../../src/failure/not-sent.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { ToolError } from '../../src/tools/errors.js';
import type { ToolErrorPayload } from '../../src/tools/formats.js';
import { createRegistry, type ToolContext } from '../../src/tools/registry.js';
import { caught } from '../fakes/caught.js';
import { closedPort, type HttpServer, httpServer } from '../fakes/tcp.js';

const tracker = createTracker();
let images: HttpServer;
let billed = 0;
let refusedPort: number;

beforeAll(async () => {
  // An image API that bills every request it reads, and answers 200.
  images = await httpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      billed++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"url":"/cdn/img-1.png"}');
    });
  });
  refusedPort = await closedPort();
});
afterAll(() => images.close());

/** Three attempts, short waits and no breaker: room for the retries the bug made. */
const roomy: ProfileInput = {
  timeout: { attemptMs: 5_000, totalMs: 60_000, connectMs: 5_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 10 }, budget: false },
  breaker: false,
};

type Step = (ctx: ToolContext) => Promise<unknown>;

/** A non-idempotent tool that bills an image, then runs `after` (the download, or anything else). */
function imageTool(after: Step): {
  runs: () => number;
  call: (id: string) => Promise<ToolErrorPayload>;
  direct: () => Promise<unknown>;
} {
  const clock = createStepClock();
  const registry = createRegistry({ clock, random: () => 0.5 });
  let runs = 0;
  registry.register({
    name: 'generate_image',
    input: z.object({ prompt: z.string() }),
    profile: roomy,
    execute: (_input, ctx) =>
      tracker.run(async (headers) => {
        runs++;
        const res = await ctx.fetch(`${images.url}v1/images`, { method: 'POST', headers, body: '{}' });
        await res.json();
        return after(ctx);
      }),
  });
  return {
    runs: () => runs,
    direct: () => drive(clock, tracker, registry.call('generate_image', { prompt: 'p' })),
    call: (id) =>
      drive(
        clock,
        tracker,
        registry.handleToolCalls([
          { type: 'tool_use', id, name: 'generate_image', input: { prompt: 'a lighthouse' } },
        ]),
      ).then(([r]) => JSON.parse((r as { content: string }).content) as ToolErrorPayload),
  };
}

const refusedDownload: Step = (ctx) => ctx.fetch(`http://127.0.0.1:${refusedPort}/cdn/img-1.png`);

describe('an effect, then a failure "not sent": the attempt may have taken effect', () => {
  it('a refused download after a billed image: execute ran once, the model is told outcome unknown', async () => {
    const before = billed;
    const tool = imageTool(refusedDownload);
    const payload = await tool.call('toolu_refused');
    expect(billed - before).toBe(1);
    expect(tool.runs()).toBe(1);
    expect(payload.error).toMatchObject({ outcome: 'unknown', retryable: false });
  });

  it('the same when the failure is a non-fetch client error carrying code ECONNREFUSED', async () => {
    const before = billed;
    const tool = imageTool(async () => {
      // What a database driver throws when its server is down.
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
      });
    });
    const payload = await tool.call('toolu_driver');
    expect(billed - before).toBe(1);
    expect(tool.runs()).toBe(1);
    expect(payload.error).toMatchObject({ outcome: 'unknown', retryable: false });
  });

  it('the same when the tool vouches for the failing call with NotSentError: it does not vouch for the image', async () => {
    const before = billed;
    const tool = imageTool(async () => {
      throw new NotSentError('orders database refused the connection');
    });
    const payload = await tool.call('toolu_vouched');
    expect(billed - before).toBe(1);
    expect(tool.runs()).toBe(1);
    expect(payload.error).toMatchObject({ outcome: 'unknown' });
  });

  it('registry.call throws OutcomeUnknownError whose failure says why', async () => {
    const before = billed;
    const tool = imageTool(refusedDownload);
    const err = await caught(tool.direct());
    expect(billed - before).toBe(1);
    expect(isBreakwaterError(err) && err.code).toBe('outcome_unknown');
    expect(isBreakwaterError(err) && err.failure.delivery).toBe('unknown');
  });
});

describe('an error code from a client breakwater does not watch', () => {
  function dbTool(fail: () => never) {
    const clock = createStepClock();
    const registry = createRegistry({ clock, random: () => 0.5 });
    let runs = 0;
    registry.register({
      name: 'save_order',
      input: z.object({}),
      profile: roomy,
      execute: () =>
        tracker.run(async () => {
          runs++;
          if (runs === 1) fail();
          return { saved: true };
        }),
    });
    return {
      runs: () => runs,
      call: () => drive(clock, tracker, registry.call('save_order', {}, { callId: 'call_1' })),
    };
  }

  it('is no proof for a non-idempotent tool: outcome unknown, not run again', async () => {
    const tool = dbTool(() => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' });
    });
    const err = await caught(tool.call());
    expect(isBreakwaterError(err) && err.code).toBe('outcome_unknown');
    expect(tool.runs()).toBe(1);
  });

  it('NotSentError is the tool author’s proof: the call is tried again and succeeds', async () => {
    const tool = dbTool(() => {
      throw new NotSentError('refused at connect', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    });
    expect(await tool.call()).toEqual({ saved: true });
    expect(tool.runs()).toBe(2);
  });
});

describe('a request fetch refuses to make is not_sent, and its key stays free', () => {
  const cases: Array<[string, Step]> = [
    ['a malformed URL', (ctx) => ctx.fetch('http://exa mple.com/v1/images', { method: 'POST', body: '{}' })],
    ['a relative URL', (ctx) => ctx.fetch('/v1/images', { method: 'POST', body: '{}' })],
    [
      'a port fetch refuses to dial',
      (ctx) => ctx.fetch('http://127.0.0.1:25/v1', { method: 'POST', body: '{}' }),
    ],
    [
      'an invalid header value',
      (ctx) => ctx.fetch(`${images.url}v1`, { method: 'POST', body: '{}', headers: { 'x-note': 'a\nb' } }),
    ],
    ['an invalid method', (ctx) => ctx.fetch(`${images.url}v1`, { method: 'CONNECT' })],
  ];
  for (const [what, request] of cases) {
    it(`${what}: a failed call, not "may have taken effect"; a re-delivery runs again`, async () => {
      const clock = createStepClock();
      const registry = createRegistry({ clock, random: () => 0.5 });
      let runs = 0;
      registry.register({
        name: 'send_mail',
        input: z.object({}),
        profile: roomy,
        execute: (_input, ctx) =>
          tracker.run(async () => {
            runs++;
            return request(ctx);
          }),
      });
      const call = { type: 'tool_use' as const, id: 'toolu_bad', name: 'send_mail', input: {} };
      const [first] = await drive(clock, tracker, registry.handleToolCalls([call]));
      const payload = JSON.parse(first!.content) as ToolErrorPayload;
      expect(payload.error).toMatchObject({ outcome: 'failed' });
      // Retrying cannot make a bad request good: one run per call.
      expect(runs).toBe(1);
      const err = await caught(
        drive(clock, tracker, registry.call('send_mail', {}, { callId: 'toolu_bad' })),
      );
      expect(isBreakwaterError(err) && err.code).not.toBe('outcome_unknown');
      expect(isBreakwaterError(err) && err.failure.delivery).toBe('not_sent');
      expect(runs).toBe(2);
    });
  }
});

describe('the tool’s own verdict', () => {
  it('ToolError after a request that reached its server is the tool’s word: a definite failure', async () => {
    const before = billed;
    const tool = imageTool(async () => {
      throw new ToolError('the image was refused by the moderation step');
    });
    const payload = await tool.call('toolu_moderated');
    expect(billed - before).toBe(1);
    expect(tool.runs()).toBe(1);
    expect(payload.error).toMatchObject({ outcome: 'failed' });
  });
});
