/**
 * `npm run demo`: the travel agent, told as it happens, then the numbers and
 * the trace. With `--naive`, the same faults once more without breakwater,
 * and what that cost. With `--json`, the numbers only.
 */
import { colorWanted, createStyle } from '../shared/style.js';
import { parseOptions, USAGE, UsageError } from './cli.js';
import { runTravelAgent } from './run.js';
import { comparisonTable, summaryTable } from './summary.js';
import { spanTree } from './tracing.js';

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  // `npm run demo -- --json | head` closes the pipe early: that is the reader's choice, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`demo: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    write(USAGE);
    return 0;
  }

  const s = createStyle(!options.json && colorWanted());
  const log = options.json ? undefined : write;
  const common = {
    chaos: options.chaos,
    seed: options.seed,
    offline: options.offline,
    style: s,
    ...(log ? { log } : {}),
  };

  const bw = await runTravelAgent({ ...common, mode: 'breakwater' });
  if (!options.json) {
    write(`\n${s.bold('summary')} ${s.dim('(from the run’s OpenTelemetry spans)')}`);
    for (const line of summaryTable(bw.summary, s)) write(line);
    write(
      `\n${s.bold('trace')} ${s.dim(`(${bw.spans.length} spans; an operation whose one attempt succeeded shows no attempt line)`)}`,
    );
    for (const line of spanTree(bw.spans, s)) write(line);
  }

  if (!options.naive) {
    if (options.json) write(JSON.stringify(bw.summary, null, 2));
    return 0;
  }

  if (!options.json) write(`\n${s.dim('─'.repeat(78))}\n`);
  const naive = await runTravelAgent({ ...common, mode: 'naive' });
  if (options.json) {
    write(JSON.stringify({ breakwater: bw.summary, naive: naive.summary }, null, 2));
    return 0;
  }
  write(`\n${s.bold('naive summary')}`);
  for (const line of summaryTable(naive.summary, s)) write(line);
  write(`\n${s.bold('the same faults, side by side')}`);
  for (const line of comparisonTable(bw.summary, naive.summary, s)) write(line);
  // The worst of it: the naive agent does not know. Its tools said "ok" every time.
  const claim = /€[\d,.]+ charged[^.]*\./.exec(naive.summary.answer ?? '')?.[0];
  if (claim && naive.summary.services.charges > 1)
    write(
      `\nThe naive agent told the traveller “${claim}” — the payment server made ${s.red(`${naive.summary.services.charges} charges`)}.`,
    );
  return 0;
}
