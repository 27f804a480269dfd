import { InvalidInputError } from '../../failure/errors.js';

/**
 * A part of a framework's request that the router's neutral chat cannot
 * carry: refused by name, never dropped in silence, and before any request
 * is sent (`not_sent`), so that nothing is half done.
 */
export function unroutable(path: string, what: string, carries: string): InvalidInputError {
  const message = `${what} cannot be routed: the router's neutral chat carries ${carries} only`;
  return new InvalidInputError({
    issues: [{ path, message }],
    failure: {
      kind: 'invalid_input',
      delivery: 'not_sent',
      message: `${path}: ${message}`,
      cause: undefined,
    },
  });
}
