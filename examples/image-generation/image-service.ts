/**
 * A local image-generation API of the common kind: it does NOT de-duplicate
 * by `Idempotency-Key` (it ignores the header), so every request it accepts
 * renders, and bills, one more image. What it does offer is a client
 * `reference` stored with each job and a lookup by it — which is what lets a
 * client find out whether a request it lost track of was accepted.
 *
 *   POST /v1/images            { prompt, size?, reference? } → the image, once rendered
 *   GET  /v1/images?reference= → { data: [job] }  (a job is visible from the moment it is accepted)
 */
import { type Fault, FaultQueue } from '../shared/faults.js';
import { type Exchange, type LocalServer, startLocalServer } from '../shared/local-http.js';

export interface ImageJob {
  readonly id: string;
  readonly prompt: string;
  readonly size: string;
  readonly reference: string | undefined;
  status: 'processing' | 'done';
  readonly url: string;
}

export interface ImageServiceOptions {
  /** How long rendering takes; the answer to a healthy request comes then. */
  readonly renderMs?: number;
  /** A fault for each create request, in order (`slow`: accepted, answered after its delay). */
  readonly createFaults?: readonly Fault[];
  /** A fault for each lookup, in order (`status`: the lookup fails, so nobody can tell). */
  readonly lookupFaults?: readonly Fault[];
}

export interface ImageService {
  /** Handles `/v1/images` requests; false for any other path. */
  handle(ex: Exchange): boolean;
  /** Every image accepted, in order: each one rendered and billed. */
  readonly jobs: readonly ImageJob[];
  /** Images beyond the first for the same prompt: what a blind retry costs. */
  readonly duplicates: number;
  /** Create requests received, accepted or not. */
  readonly createRequests: number;
}

export function createImageService(options: ImageServiceOptions = {}): ImageService {
  const renderMs = options.renderMs ?? 300;
  const createFaults = new FaultQueue(options.createFaults);
  const lookupFaults = new FaultQueue(options.lookupFaults);
  const jobs: ImageJob[] = [];
  let createRequests = 0;

  function accept(ex: Exchange, body: { prompt: string; size?: unknown; reference?: unknown }): ImageJob {
    const id = `img_${jobs.length + 1}`;
    const job: ImageJob = {
      id,
      prompt: body.prompt,
      size: typeof body.size === 'string' ? body.size : '1024x1024',
      reference: typeof body.reference === 'string' ? body.reference : undefined,
      status: 'processing',
      url: `https://images.example/${id}.png`,
    };
    jobs.push(job);
    ex.later(renderMs, () => {
      job.status = 'done';
    });
    return job;
  }

  function create(ex: Exchange): void {
    createRequests++;
    const body = ex.body as { prompt?: unknown; size?: unknown; reference?: unknown } | undefined;
    if (typeof body?.prompt !== 'string' || body.prompt.trim() === '') {
      ex.json(400, { error: { type: 'invalid_request', message: 'prompt is required' } });
      return;
    }
    const fault = createFaults.next();
    const prompt = body.prompt;
    switch (fault.kind) {
      case 'status':
        if (fault.after) accept(ex, { ...body, prompt });
        ex.json(fault.status, { error: { type: 'fault', message: `HTTP ${fault.status}` } }, fault.headers);
        return;
      case 'reset':
        if (fault.after) accept(ex, { ...body, prompt });
        ex.reset();
        return;
      case 'slow': {
        // Accepted and rendered in the usual time; only the answer is late.
        const job = accept(ex, { ...body, prompt });
        ex.later(Math.max(fault.delayMs, renderMs), () => ex.json(200, job));
        return;
      }
      default: {
        const job = accept(ex, { ...body, prompt });
        ex.later(renderMs, () => ex.json(200, job));
      }
    }
  }

  function lookup(ex: Exchange): void {
    const fault = lookupFaults.next();
    if (fault.kind === 'status' || fault.kind === 'reset') {
      if (fault.kind === 'reset') ex.reset();
      else
        ex.json(fault.status, { error: { type: 'fault', message: `HTTP ${fault.status}` } }, fault.headers);
      return;
    }
    const reference = ex.url.searchParams.get('reference');
    ex.json(200, { data: jobs.filter((j) => reference !== null && j.reference === reference) });
  }

  return {
    handle(ex) {
      if (ex.url.pathname !== '/v1/images') return false;
      if (ex.method === 'POST') create(ex);
      else if (ex.method === 'GET') lookup(ex);
      else ex.json(405, { error: { type: 'method_not_allowed', message: ex.method } });
      return true;
    },
    get jobs() {
      return jobs;
    },
    get duplicates() {
      const byPrompt = new Map<string, number>();
      for (const j of jobs) byPrompt.set(j.prompt, (byPrompt.get(j.prompt) ?? 0) + 1);
      let extra = 0;
      for (const n of byPrompt.values()) extra += n - 1;
      return extra;
    },
    get createRequests() {
      return createRequests;
    },
  };
}

/** The image API on its own server. */
export async function startImageService(
  options: ImageServiceOptions = {},
  port = 0,
): Promise<ImageService & LocalServer> {
  const service = createImageService(options);
  const server = await startLocalServer((ex) => {
    if (!service.handle(ex)) ex.json(404, { error: { type: 'not_found', message: ex.url.pathname } });
  }, port);
  return Object.assign(service, { url: server.url, port: server.port, close: () => server.close() });
}
