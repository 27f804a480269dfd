import { expect, it } from 'vitest';
import { runImageScenarios } from '../../examples/image-generation/run.js';

it('retries the image call only when nothing can have been rendered, and never renders twice', async () => {
  const results = await runImageScenarios(() => {});
  const by = (name: RegExp) => {
    const r = results.find((x) => name.test(x.name));
    if (!r) throw new Error(`no scenario ${name}`);
    return r;
  };
  for (const r of results) expect(r.images).toBeLessThanOrEqual(1);

  expect(by(/connection refused/)).toMatchObject({ outcome: 'value', retried: true, images: 1 });
  expect(by(/503/)).toMatchObject({ outcome: 'value', retried: true, requests: 2, images: 1 });
  expect(by(/HTTP 500/)).toMatchObject({ outcome: 'value', retried: false, reconciled: true, requests: 1 });
  expect(by(/attempt timeout/)).toMatchObject({
    outcome: 'value',
    retried: false,
    reconciled: true,
    requests: 1,
  });
  const unknown = by(/lookup is down/);
  expect(unknown).toMatchObject({ outcome: 'unknown', retried: false, requests: 1, images: 1 });
  expect(unknown.note).toMatch(/second delivery: outcome_unknown, not run/);
  expect(by(/400/)).toMatchObject({ outcome: 'failed', retried: false, requests: 1, images: 0 });
}, 30_000);
