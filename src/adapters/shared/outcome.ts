import { isBreakwaterError, type Outcome } from '../../failure/errors.js';
import type { RegisteredTool } from '../../tools/registry.js';

/**
 * Whether a failed call may have taken effect, by the rule the registry
 * applies in `handleToolCalls`: an idempotent tool only when the error says
 * so; a non-idempotent one also when what reached the dependency is unknown
 * or the error is not one of ours (a bug in a tool may strike after its side
 * effect). A test holds the two to the same answers.
 */
export function outcomeOf(tool: Pick<RegisteredTool, 'effect'> | undefined, err: unknown): Outcome {
  if (tool === undefined) return 'failed';
  if (tool.effect === 'idempotent')
    return isBreakwaterError(err) && err.outcome === 'unknown' ? 'unknown' : 'failed';
  if (!isBreakwaterError(err)) return 'unknown';
  return err.outcome === 'unknown' || err.failure.delivery === 'unknown' ? 'unknown' : 'failed';
}
