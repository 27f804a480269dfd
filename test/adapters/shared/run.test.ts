import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runTool } from '../../../src/adapters/shared/run.js';
import { selectTools } from '../../../src/adapters/shared/select.js';
import { ToolError } from '../../../src/tools/errors.js';
import { createRegistry } from '../../../src/tools/registry.js';
import { badGateway } from '../fixtures.js';

function registry() {
  const r = createRegistry({ random: () => 0 });
  const fail = (err: () => unknown) => async () => {
    throw err();
  };
  r.register({ name: 'idem_502', effect: 'idempotent', input: z.object({}), execute: fail(badGateway) });
  r.register({ name: 'once_502', input: z.object({}), execute: fail(badGateway) });
  r.register({ name: 'once_bug', input: z.object({}), execute: fail(() => new TypeError('x is undefined')) });
  r.register({
    name: 'idem_bug',
    effect: 'idempotent',
    input: z.object({}),
    execute: fail(() => new TypeError('x')),
  });
  r.register({ name: 'declined', input: z.object({}), execute: fail(() => new ToolError('card declined')) });
  r.register({ name: 'strict', input: z.object({ n: z.number() }), execute: () => 1 });
  return r;
}

describe('the adapters’ error results', () => {
  it('say exactly what handleToolCalls says, outcome included', async () => {
    const cases: Array<[string, unknown]> = [
      ['idem_502', {}],
      ['once_502', {}],
      ['once_bug', {}],
      ['idem_bug', {}],
      ['declined', {}],
      ['strict', { n: 'one' }],
      ['no_such_tool', {}],
    ];
    for (const [name, args] of cases) {
      const [viaHandle] = await registry().handleToolCalls([
        { type: 'function_call', call_id: 'call_1', name, arguments: JSON.stringify(args) },
      ]);
      const viaAdapter = await runTool(registry(), name, args, { callId: 'call_1' });
      expect(viaAdapter.ok, name).toBe(false);
      if (!viaAdapter.ok) expect(viaAdapter.payload, name).toEqual(JSON.parse(viaHandle?.output ?? ''));
    }
  });

  it('select tools by name, refusing names the registry does not hold', () => {
    const r = registry();
    expect(selectTools(r, { only: ['strict'] }).map((t) => t.name)).toEqual(['strict']);
    expect(selectTools(r, { exclude: ['strict'] })).toHaveLength(5);
    expect(() => selectTools(r, { only: ['nope'] })).toThrow(/nope/);
  });
});
