/**
 * Chaos schedules: a fault queue per named target, drawn from a seed, and the
 * smaller schedules a failing one shrinks to (fewer targets, fewer faults,
 * simpler faults), all pure so that a seed always means the same schedule.
 */
import { FAULTS, type Fault } from './faults.js';
import { createSeededRandom, randomInt } from './prng.js';

/** The faults each target's requests meet, in order (then none). */
export type ChaosSchedule = Readonly<Record<string, readonly Fault[]>>;

export interface ScheduleShape {
  /** The targets that take faults, e.g. `['openai', 'payment']`. */
  readonly targets: readonly string[];
  /** The faults drawn from, for every target or per target. Default: every fault. */
  readonly faults?: readonly Fault[] | Readonly<Record<string, readonly Fault[]>>;
  /** The longest queue per target. Default 4. */
  readonly maxFaults?: number;
}

function poolFor(shape: ScheduleShape, target: string): readonly Fault[] {
  const f = shape.faults;
  const pool =
    f === undefined
      ? FAULTS
      : Array.isArray(f)
        ? (f as readonly Fault[])
        : ((f as Readonly<Record<string, readonly Fault[]>>)[target] ?? FAULTS);
  return pool;
}

/** The schedule of a seed: each target's queue of 0 to `maxFaults` faults, `none` as likely as each other fault. */
export function scheduleFromSeed(seed: number, shape: ScheduleShape): ChaosSchedule {
  const random = createSeededRandom(seed);
  const max = shape.maxFaults ?? 4;
  const out: Record<string, Fault[]> = {};
  for (const target of shape.targets) {
    const pool = poolFor(shape, target);
    const choices: readonly Fault[] = pool.includes('none') ? pool : ['none', ...pool];
    const length = randomInt(random, 0, max);
    const queue: Fault[] = [];
    for (let i = 0; i < length; i++) queue.push(choices[Math.floor(random() * choices.length)] ?? 'none');
    out[target] = queue;
  }
  return normalize(out);
}

/** Without trailing `none`s (an exhausted queue is `none`) and without empty targets. */
export function normalize(schedule: ChaosSchedule): ChaosSchedule {
  const out: Record<string, readonly Fault[]> = {};
  for (const [target, queue] of Object.entries(schedule)) {
    let end = queue.length;
    while (end > 0 && queue[end - 1] === 'none') end--;
    if (end > 0) out[target] = queue.slice(0, end);
  }
  return out;
}

/** How many faults other than `none` the schedule holds: what shrinking makes smaller. */
export function faultCount(schedule: ChaosSchedule): number {
  let n = 0;
  for (const queue of Object.values(schedule)) for (const f of queue) if (f !== 'none') n++;
  return n;
}

const rank = (f: Fault) => (f === 'none' ? -1 : FAULTS.indexOf(f));

/**
 * Smaller schedules, the most aggressive first: a target dropped, a queue cut
 * in half, one fault removed, one fault made `none`, one fault replaced by a
 * simpler one of the same pool (earlier in `FAULTS`).
 */
export function* shrinkCandidates(schedule: ChaosSchedule, shape: ScheduleShape): Generator<ChaosSchedule> {
  const targets = Object.keys(schedule);
  const edit = (target: string, queue: readonly Fault[]) => normalize({ ...schedule, [target]: queue });
  for (const target of targets) {
    const { [target]: _dropped, ...rest } = schedule;
    yield normalize(rest);
  }
  for (const target of targets) {
    const queue = schedule[target] ?? [];
    if (queue.length > 1) yield edit(target, queue.slice(0, Math.floor(queue.length / 2)));
  }
  for (const target of targets) {
    const queue = schedule[target] ?? [];
    for (let i = 0; i < queue.length; i++) yield edit(target, [...queue.slice(0, i), ...queue.slice(i + 1)]);
  }
  for (const target of targets) {
    const queue = schedule[target] ?? [];
    for (let i = 0; i < queue.length; i++)
      if (queue[i] !== 'none')
        yield edit(
          target,
          queue.map((f, j) => (j === i ? 'none' : f)),
        );
  }
  for (const target of targets) {
    const queue = schedule[target] ?? [];
    const pool = poolFor(shape, target);
    for (let i = 0; i < queue.length; i++) {
      const f = queue[i] ?? 'none';
      for (const simpler of pool)
        if (simpler !== 'none' && rank(simpler) < rank(f))
          yield edit(
            target,
            queue.map((g, j) => (j === i ? simpler : g)),
          );
    }
  }
}
