/**
 * An image-generation tool for an API that does not de-duplicate by
 * idempotency key — the hard case. What breakwater retries, and why:
 *
 * - the request never went out (connection refused, DNS, connect timeout):
 *   nothing can have been rendered, so it is retried;
 * - the service said it did not act (429, 503 with Retry-After): retried,
 *   after the wait it asked for;
 * - it may have acted (a timeout or a cut connection after the request was
 *   written, a 500/502/504): NOT retried. `reconcile` looks the image up by
 *   the reference sent with the request; found → that image is the answer;
 *   provably absent → one more attempt is safe; cannot tell → the call ends
 *   as *outcome unknown* and the ledger refuses to run that key again;
 * - a definite refusal (400, 422): not retried; nothing happened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyStrategy, ProfileInput, RegisteredTool, Registry } from 'breakwater';
import { z } from 'zod';

export const imageInput = z.object({
  prompt: z.string().min(1).max(2_000).describe('What the picture shows, in words'),
  size: z.enum(['1024x1024', '1792x1024']).optional().describe('Width x height; 1024x1024 by default'),
});
export type ImageInput = z.infer<typeof imageInput>;

export const imageOutput = z.object({
  id: z.string(),
  url: z.string(),
  status: z.enum(['processing', 'done']),
  reference: z.string().optional(),
});
export type Image = z.infer<typeof imageOutput>;

export interface ImageToolOptions {
  /** Where the image API lives (the `/v1/images` endpoints). */
  readonly baseUrl: string;
  readonly name?: string;
  readonly description?: string;
  /**
   * How an operation is named. `call-id` (the default) makes one image per
   * model tool call; `content` makes one per prompt in a conversation, so a
   * model that asks for the same picture again gets the first one replayed.
   */
  readonly key?: KeyStrategy<ImageInput>;
  /** A named profile of the registry, or overrides of `non-idempotent`. */
  readonly profile?: string | ProfileInput;
  /** How often `reconcile` looks again at an image still rendering. */
  readonly pollMs?: number;
}

/** The attempt timeout is short because a person is waiting; rendering itself runs on at the service. */
export const imageProfile: ProfileInput = {
  extends: 'non-idempotent',
  name: 'image',
  timeout: { attemptMs: 700, totalMs: 6_000, connectMs: 500 },
  retry: { maxAttempts: 3, backoff: { initialMs: 150, maxMs: 600 }, maxRetryAfterMs: 3_000 },
};

export function registerImageTool(
  registry: Registry,
  options: ImageToolOptions,
): RegisteredTool<z.input<typeof imageInput>, Image> {
  const endpoint = `${options.baseUrl}/v1/images`;
  const pollMs = options.pollMs ?? 100;
  return registry.register<typeof imageInput, Image>({
    name: options.name ?? 'generate_image',
    description:
      options.description ??
      'Generates one image from a prompt. Each successful call creates (and bills) a new image.',
    input: imageInput,
    output: imageOutput,
    effect: 'non-idempotent',
    profile: options.profile ?? imageProfile,
    idempotency: {
      // The API ignores Idempotency-Key: nothing upstream stops a second request from rendering again.
      honored: false,
      ...(options.key !== undefined ? { key: options.key } : {}),
      reconcile: async (key, _input, ctx) => {
        // The reference we sent with the request names the operation; the API records it on acceptance.
        for (;;) {
          const res = await ctx.fetch(`${endpoint}?reference=${encodeURIComponent(key)}`);
          const { data } = (await res.json()) as { data: Image[] };
          const image = data[0];
          // Absent is a definite answer here: this API records a job before it answers anything,
          // and our attempt's connection is closed, so a request it has not read is never accepted.
          if (!image) return { found: false };
          if (image.status === 'done') return { found: true, value: image };
          // Accepted and still rendering: wait for it rather than render a second one.
          await sleep(pollMs, undefined, ctx.signal ? { signal: ctx.signal } : {});
        }
      },
    },
    execute: async (input, ctx) => {
      const res = await ctx.fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // `reference` is how reconcile finds this operation again; the same on every attempt.
        body: JSON.stringify({ ...input, reference: ctx.idempotencyKey }),
      });
      return (await res.json()) as Image;
    },
  });
}
