import { expect, it } from 'vitest';
import { runRouterExample } from '../../examples/router-failover/main.js';

it('the router example fails over to Anthropic, and the next call skips OpenAI while it cools down', async () => {
  const saved = { openai: process.env.OPENAI_API_KEY, anthropic: process.env.ANTHROPIC_API_KEY };
  delete process.env.OPENAI_API_KEY;
  delete process.env.ANTHROPIC_API_KEY;
  try {
    const { answers, openaiRequests } = await runRouterExample(() => {});
    expect(answers.map((a) => `${a.provider}/${a.model}`)).toEqual([
      'anthropic/claude-haiku-4-5',
      'anthropic/claude-haiku-4-5',
    ]);
    expect(openaiRequests).toBe(1);
  } finally {
    if (saved.openai !== undefined) process.env.OPENAI_API_KEY = saved.openai;
    if (saved.anthropic !== undefined) process.env.ANTHROPIC_API_KEY = saved.anthropic;
  }
}, 30_000);
