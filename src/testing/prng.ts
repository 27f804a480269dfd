/**
 * A seeded random source for fault schedules and the chaos runner: the same
 * seed gives the same schedule on every machine and every Node version, which
 * is what makes a printed seed replayable. mulberry32: tiny and good enough
 * for choosing faults (never for anything secret).
 */
import type { Random } from '../policy/clock.js';

export function createSeededRandom(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Independent streams from one seed, so drawing more from one never shifts another. */
export function forkSeed(seed: number, stream: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
}
