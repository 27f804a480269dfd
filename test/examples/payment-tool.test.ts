import { expect, it } from 'vitest';
import { runPaymentExample } from '../../examples/payment-tool/main.js';

it('the payment example charges once: a lost answer is retried under the same key, a re-delivery is replayed', async () => {
  const lines: string[] = [];
  const { charge, again, charges } = await runPaymentExample((l) => lines.push(l));
  expect(charges).toBe(1);
  expect(charge).toEqual({ id: 'ch_1', status: 'succeeded' });
  expect(again).toEqual(charge);
  expect(lines.filter((l) => l.includes('retry:'))).toHaveLength(1);
  expect(lines.join('\n')).toMatch(/retry: network \(unknown\), attempt 2/);
}, 30_000);
