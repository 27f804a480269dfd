/**
 * The demo's command line. Every mistake is reported with the option's
 * name and what it accepts, and exits with status 2, as usage errors do.
 */
import { parseArgs } from 'node:util';
import { CHAOS_LEVELS, type Chaos } from './schedule.js';

export interface DemoOptions {
  readonly chaos: Chaos;
  readonly seed: number;
  readonly json: boolean;
  readonly naive: boolean;
  readonly offline: boolean;
  readonly help: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `usage: npm run demo -- [options]

  --chaos none|light|heavy  how much goes wrong (default: light)
  --seed N                  the fault schedule and jitter to use, a whole number (default: 1)
  --naive                   also run the same schedule through a naive retry-everything wrapper, and compare
  --json                    print the summary as JSON instead of the story (use npm run -s, or node, for clean output)
  --offline                 use the scripted local model even when OPENAI_API_KEY / ANTHROPIC_API_KEY are set
  --help                    this text

With no API keys in the environment everything runs on 127.0.0.1: a scripted model served over the
OpenAI and Anthropic wire formats, and travel services with injected faults. With OPENAI_API_KEY and/or
ANTHROPIC_API_KEY set, the real providers answer (OPENAI_MODEL, ANTHROPIC_MODEL choose the models).`;

const KNOWN = ['--chaos', '--seed', '--naive', '--json', '--offline', '--help'];

export function parseOptions(argv: readonly string[]): DemoOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(explain(err));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument "${positionals[0]}": options start with -- (known: ${KNOWN.join(', ')})`,
    );

  const chaos = values.chaos ?? 'light';
  if (!(CHAOS_LEVELS as readonly string[]).includes(chaos))
    throw new UsageError(`--chaos: expected one of ${CHAOS_LEVELS.join(', ')}, got "${chaos}"`);

  const seedText = values.seed ?? '1';
  if (!/^\d{1,9}$/.test(seedText))
    throw new UsageError(`--seed: expected a whole number from 0 to 999999999, got "${seedText}"`);

  return {
    chaos: chaos as Chaos,
    seed: Number(seedText),
    json: values.json === true,
    naive: values.naive === true,
    offline: values.offline === true,
    help: values.help === true,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      chaos: { type: 'string' },
      seed: { type: 'string' },
      naive: { type: 'boolean' },
      json: { type: 'boolean' },
      offline: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** node:util's messages, in this command's words. */
function explain(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message} (known: ${KNOWN.join(', ')})`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option && /argument missing/.test(message)
        ? `${option}: a value is required`
        : `${option ?? 'option'}: ${message.replace(/^Option '[^']+' /, '')}`;
    default:
      return message;
  }
}
