/**
 * A fake image-generation API with no idempotency support: every request that
 * is processed bills one image. It stores a client reference with each image
 * and lists images by it (`GET /v1/images?ref=`), which is what makes
 * reconciliation possible.
 */
import {
  afterProcessing,
  type FakeService,
  type FakeServiceOptions,
  startServiceServer,
} from './service-server.js';

export interface Image {
  readonly id: string;
  readonly op: string;
  readonly ref: string | undefined;
  status: 'processing' | 'succeeded';
}

export interface ImageApi extends FakeService {
  /** Every image made (and billed), in order. */
  readonly images: readonly Image[];
  imagesFor(op: string): number;
}

/** Starts the image API on 127.0.0.1 at a free port; its action route is `POST /v1/images`. */
export async function createFakeImageApi(options: FakeServiceOptions = {}): Promise<ImageApi> {
  const images: Image[] = [];
  const base = await startServiceServer({
    ...options,
    action: 'POST /v1/images',
    handle(_req, ctx) {
      let parsed: { op?: unknown; ref?: unknown };
      try {
        parsed = JSON.parse(ctx.body) as typeof parsed;
      } catch {
        ctx.send({ status: 400, body: { error: { message: 'invalid JSON' } } });
        return;
      }
      // The image exists (and is billed) from the moment the request is read, as a job record
      // does on most such APIs; a lookup by reference sees it even while it is still being made.
      const image: Image = {
        id: `img_${images.length + 1}`,
        op: String(parsed.op),
        ref: typeof parsed.ref === 'string' ? parsed.ref : undefined,
        status: 'processing',
      };
      images.push(image);
      ctx.processed();
      if (ctx.fault === 'slow_before_processing') {
        ctx.stall(() => {
          image.status = 'succeeded';
        });
        return;
      }
      image.status = 'succeeded';
      if (!afterProcessing(ctx)) ctx.send({ status: 200, body: image });
    },
    other(req, url, send) {
      if (req.method === 'GET' && url.pathname === '/v1/images') {
        const ref = url.searchParams.get('ref');
        send({ status: 200, body: { data: images.filter((i) => i.ref === ref) } });
        return true;
      }
      return false;
    },
  });
  return {
    ...base,
    get requests() {
      return base.requests();
    },
    images,
    imagesFor: (op) => images.filter((i) => i.op === op).length,
  };
}
