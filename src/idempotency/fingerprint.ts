import { createHash } from 'node:crypto';

const MAX_DEPTH = 256;

/**
 * A canonical text for a value: the same data gives the same text whatever
 * the key order, so two deliveries of one input compare equal. Values JSON
 * cannot hold (dates, bigints, NaN, maps, sets) get tagged forms starting with
 * `!`, which no JSON text outside a string can start with, so they cannot
 * collide with the JSON they resemble.
 */
export function canonicalize(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown, depth: number): string => {
    if (depth > MAX_DEPTH) throw new TypeError(`cannot fingerprint a value nested deeper than ${MAX_DEPTH}`);
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'number':
        return Number.isFinite(v) ? JSON.stringify(v) : `!${v}`;
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        return `!bigint:${v}`;
      case 'undefined':
        return '!undefined';
      case 'function':
      case 'symbol':
        return `!${typeof v}`;
      default:
        break;
    }
    if (v === null) return 'null';
    const o = v as object;
    if (seen.has(o)) throw new TypeError('cannot fingerprint a value with a cycle');
    seen.add(o);
    try {
      if (o instanceof Date) return Number.isNaN(o.getTime()) ? '!date:invalid' : `!date:${o.toISOString()}`;
      if (Array.isArray(o)) return `[${o.map((x) => walk(x, depth + 1)).join(',')}]`;
      if (o instanceof Set) {
        return `!set[${[...o]
          .map((x) => walk(x, depth + 1))
          .sort()
          .join(',')}]`;
      }
      if (o instanceof Map) {
        const parts = [...o].map(([k, x]) => `${walk(k, depth + 1)}:${walk(x, depth + 1)}`);
        return `!map{${parts.sort().join(',')}}`;
      }
      const record = o as Record<string, unknown>;
      const parts: string[] = [];
      // Own keys only, `__proto__` included as the plain key it is after JSON.parse.
      for (const k of Object.keys(record).sort()) {
        const x = record[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        parts.push(`${JSON.stringify(k)}:${walk(x, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    } finally {
      seen.delete(o);
    }
  };
  return walk(value, 0);
}

/** A stable digest of a value (SHA-256 of its canonical text), for comparing inputs without keeping them. */
export function fingerprint(value: unknown): string {
  return sha256(canonicalize(value));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
