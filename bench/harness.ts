/** Small timing helpers for the benchmarks: warm up, then take the median of several rounds. */

export interface Measured {
  readonly name: string;
  readonly nsPerCall: number;
}

export async function measure(
  name: string,
  call: () => Promise<unknown>,
  calls = 200_000,
  rounds = 7,
): Promise<Measured> {
  for (let i = 0; i < Math.min(calls, 50_000); i++) await call();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await call();
    samples.push(Number(process.hrtime.bigint() - t0) / calls);
  }
  samples.sort((a, b) => a - b);
  return { name, nsPerCall: samples[Math.floor(samples.length / 2)]! };
}

export function table(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? format(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: ReadonlyArray<string | number>) =>
    `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

function format(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
