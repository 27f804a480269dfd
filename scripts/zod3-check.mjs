// Run by .ci/package-check in an app with zod 3.25+ installed: a tool whose schema
// is written with zod 3's `zod/v4` is accepted, validated, and shown to models as JSON Schema.
import { createRegistry } from 'breakwater';
import { z } from 'zod/v4';

const registry = createRegistry();
const add = registry.register({
  name: 'add',
  effect: 'idempotent',
  input: z.object({ a: z.number(), b: z.number() }),
  execute: async ({ a, b }) => a + b,
});
const sum = await add.call({ a: 2, b: 3 });
const schema = registry.definitions('openai')[0].function.parameters;
let refused = '';
try {
  await add.call({ a: 'two', b: 3 });
} catch (err) {
  refused = `${err.code} ${err.issues?.[0]?.path}`;
}
if (sum !== 5 || schema.properties?.a?.type !== 'number' || refused !== 'invalid_input a') {
  console.error('zod 3 check failed', { sum, schema, refused });
  process.exit(1);
}
console.log('   a zod 3 (zod/v4) schema: validated, refused bad input, JSON Schema for the model');
