/** A fake read-only search API (`GET /search?q=`): safe to call any number of times, failing as scheduled. */
import {
  afterProcessing,
  type FakeService,
  type FakeServiceOptions,
  startServiceServer,
} from './service-server.js';

/** Starts the search API on 127.0.0.1 at a free port; its action route is `GET /search`. */
export async function createFakeSearchApi(options: FakeServiceOptions = {}): Promise<FakeService> {
  const base = await startServiceServer({
    ...options,
    action: 'GET /search',
    handle(req, ctx) {
      const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('q') ?? '';
      const answer = { query: q, results: [`${q} — first`, `${q} — second`] };
      ctx.processed();
      if (ctx.fault === 'slow_before_processing') {
        ctx.stall();
        return;
      }
      if (!afterProcessing(ctx)) ctx.send({ status: 200, body: answer });
    },
  });
  return {
    ...base,
    get requests() {
      return base.requests();
    },
  };
}
