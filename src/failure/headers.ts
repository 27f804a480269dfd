/**
 * Headers arrive as a WHATWG `Headers` (fetch, the openai and anthropic SDKs),
 * a Node `IncomingHttpHeaders` object, or a plain record someone built. One
 * case-insensitive reader for all of them keeps the parsers simple.
 */
export type HeaderBag =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | number | undefined | null>>;

export type HeaderReader = (name: string) => string | undefined;

export function readHeaders(headers: unknown): HeaderReader | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    return (name) => {
      const v = (getter as (n: string) => unknown).call(headers, name);
      return typeof v === 'string' ? v : undefined;
    };
  }
  const record = headers as Record<string, unknown>;
  let lower: Map<string, unknown> | undefined;
  return (name) => {
    let v = Object.hasOwn(record, name) ? record[name] : undefined;
    if (v === undefined) {
      if (lower === undefined) {
        lower = new Map();
        for (const k of Object.keys(record)) lower.set(k.toLowerCase(), record[k]);
      }
      v = lower.get(name.toLowerCase());
    }
    if (Array.isArray(v)) v = v[0];
    if (typeof v === 'number') return String(v);
    return typeof v === 'string' ? v : undefined;
  };
}
