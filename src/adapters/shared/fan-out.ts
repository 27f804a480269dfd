/**
 * One listener on a shared signal (an agent run's), however many calls
 * follow it. Each of LangChain's parallel tool calls gets the run's signal;
 * a listener per call and per attempt on that one signal passes Node's limit
 * of 10 and prints `MaxListenersExceededWarning` for a perfectly normal run.
 * Each call follows a signal of its own instead, aborted from one listener.
 */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

/** A signal that aborts when `parent` does; `release` it when the call ends. */
export function follow(parent: AbortSignal | undefined): {
  signal: AbortSignal | undefined;
  release(): void;
} {
  if (parent === undefined) return { signal: undefined, release: () => undefined };
  const own = new AbortController();
  if (parent.aborted) {
    own.abort(parent.reason);
    return { signal: own.signal, release: () => undefined };
  }
  let set = followers.get(parent);
  if (set === undefined) {
    const created = new Set<AbortController>();
    set = created;
    followers.set(parent, created);
    parent.addEventListener(
      'abort',
      () => {
        for (const c of created) c.abort(parent.reason);
        created.clear();
      },
      { once: true },
    );
  }
  set.add(own);
  const members = set;
  return { signal: own.signal, release: () => members.delete(own) };
}
