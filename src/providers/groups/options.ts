import type { Clock } from '../../policy/clock.js';
import { createHedger, type Hedger } from '../../policy/hedge.js';
import type { Policy } from '../../policy/pipeline.js';
import { resolveStreamTimeouts, type StreamTimeouts } from '../stream-timeouts.js';
import type { Provider } from '../types.js';
import {
  createDeploymentRuntime,
  type DeploymentRuntime,
  type DeploymentSpec,
  deploymentSpec,
} from './deployment.js';
import { type GroupFallbacks, type ModelGroup, STRATEGIES, type StrategyName } from './types.js';

/** A group checked and bound to its deployments' runtimes. */
export interface ResolvedGroup {
  readonly name: string;
  readonly strategy: StrategyName;
  readonly members: readonly DeploymentRuntime[];
  readonly fallbacks: GroupFallbacks;
  readonly retryOn: 'another' | 'same';
  /** The group's hedging (its delay, budget and latencies), when it asks for it. */
  readonly hedger: Hedger | undefined;
  /** The group's own stream timeouts (checked); the router's apply to the fields it leaves out. */
  readonly stream: StreamTimeouts;
}

export interface ResolvedGroups {
  readonly groups: ReadonlyMap<string, ResolvedGroup>;
  /** Every deployment once, in declaration order. */
  readonly deployments: readonly DeploymentRuntime[];
  readonly defaultGroup: string;
  readonly maxHops: number;
}

export interface GroupOptions {
  readonly providers?: readonly Provider[] | undefined;
  readonly groups?: { readonly [name: string]: ModelGroup } | undefined;
  readonly defaultGroup?: string | undefined;
  readonly maxHops?: number | undefined;
}

const FALLBACK_CLASSES = ['contextWindow', 'contentPolicy', 'unavailable'] as const;
const GROUP_KEYS: readonly string[] = ['deployments', 'strategy', 'fallbacks', 'retryOn', 'hedge', 'stream'];

function known(names: Iterable<string>): string {
  return [...names].map((n) => `'${n}'`).join(', ');
}

/**
 * A group's fallbacks: an object of the known classes only. A misspelt class
 * (`unavailble`) would otherwise be read as no fallback at all, silently, and
 * the call would fail where the caller asked it to move on.
 */
function checkFallbacks(input: GroupFallbacks | undefined, field: string): GroupFallbacks {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new RangeError(`${field}: expected an object, got ${input === null ? 'null' : typeof input}`);
  for (const [k, v] of Object.entries(input)) {
    if (!(FALLBACK_CLASSES as readonly string[]).includes(k))
      throw new RangeError(`${field}.${k}: unknown fallback class (${FALLBACK_CLASSES.join(', ')})`);
    if (v !== undefined && typeof v !== 'string')
      throw new RangeError(`${field}.${k}: expected a group name, got ${v === null ? 'null' : typeof v}`);
  }
  return input;
}

/**
 * Checks the router's groups (or its v1 `providers`, which become the group
 * `default`, ordered, retrying on the same provider first) and builds one
 * runtime per deployment id. A deployment listed in several groups (the same
 * id and provider) is one deployment with one health; the same id on two
 * providers is a mistake.
 */
export function resolveGroups(
  options: GroupOptions,
  policyFor: (spec: DeploymentSpec) => Policy,
  clock: Clock,
): ResolvedGroups {
  if (options.providers !== undefined && options.groups !== undefined)
    throw new RangeError('createRouter: give either providers or groups, not both');
  let input: { readonly [name: string]: ModelGroup };
  let v1 = false;
  if (options.groups === undefined) {
    if (options.providers === undefined || options.providers.length === 0)
      throw new RangeError('createRouter: at least one provider is needed');
    input = { default: { deployments: options.providers, strategy: 'ordered', retryOn: 'same' } };
    v1 = true;
  } else {
    if (
      typeof options.groups !== 'object' ||
      options.groups === null ||
      Object.keys(options.groups).length === 0
    )
      throw new RangeError('groups: at least one group is needed');
    input = options.groups;
  }

  const byId = new Map<string, DeploymentRuntime>();
  const deployments: DeploymentRuntime[] = [];
  const groups = new Map<string, ResolvedGroup>();
  for (const [name, g] of Object.entries(input)) {
    const field = v1 ? 'providers' : `groups.${name}`;
    if (typeof g !== 'object' || g === null || !Array.isArray(g.deployments) || g.deployments.length === 0)
      throw new RangeError(`${field}.deployments: at least one deployment is needed`);
    // A misspelt option (`hedges`, `fallback`) would otherwise be read as none at all, silently.
    for (const k of Object.keys(g))
      if (!GROUP_KEYS.includes(k))
        throw new RangeError(`${field}.${k}: unknown group option (${GROUP_KEYS.join(', ')})`);
    const strategy = g.strategy ?? 'ordered';
    if (!STRATEGIES.includes(strategy))
      throw new RangeError(
        `${field}.strategy: expected one of ${known(STRATEGIES)}, got ${String(strategy)}`,
      );
    const retryOn = g.retryOn ?? 'another';
    if (retryOn !== 'another' && retryOn !== 'same')
      throw new RangeError(`${field}.retryOn: expected 'another' or 'same', got ${String(retryOn)}`);
    const members: DeploymentRuntime[] = [];
    for (const [i, d] of g.deployments.entries()) {
      const spec = deploymentSpec(d, v1 ? `providers[${i}]` : `${field}.deployments[${i}]`);
      let runtime = byId.get(spec.id);
      if (runtime === undefined || v1) {
        // v1 allowed two providers of one name and model; each keeps its own route.
        runtime = createDeploymentRuntime(spec, policyFor(spec), clock);
        byId.set(spec.id, runtime);
        deployments.push(runtime);
      } else if (runtime.provider !== spec.provider) {
        throw new RangeError(
          `${field}.deployments[${i}].id: duplicate deployment id '${spec.id}' (another provider has it; give each deployment its own id)`,
        );
      }
      if (members.includes(runtime))
        throw new RangeError(
          `${field}.deployments[${i}]: deployment '${spec.id}' is listed twice in the group`,
        );
      members.push(runtime);
    }
    const hedger =
      g.hedge === undefined ? undefined : createHedger(g.hedge, { clock, field: `${field}.hedge` });
    const stream = resolveStreamTimeouts(g.stream, `${field}.stream`);
    groups.set(name, {
      name,
      strategy,
      members,
      fallbacks: checkFallbacks(g.fallbacks, `${field}.fallbacks`),
      retryOn,
      hedger,
      stream,
    });
  }

  for (const g of groups.values()) {
    for (const cls of FALLBACK_CLASSES) {
      const to = g.fallbacks[cls];
      if (to === undefined) continue;
      if (!groups.has(to))
        throw new RangeError(
          `groups.${g.name}.fallbacks.${cls}: unknown group '${String(to)}' (known: ${known(groups.keys())})`,
        );
      if (to === g.name)
        throw new RangeError(`groups.${g.name}.fallbacks.${cls}: a group cannot fall back to itself`);
    }
  }

  const defaultGroup = options.defaultGroup ?? (groups.has('default') ? 'default' : [...groups.keys()][0]!);
  if (!groups.has(defaultGroup))
    throw new RangeError(`defaultGroup: unknown group '${defaultGroup}' (known: ${known(groups.keys())})`);
  const maxHops = options.maxHops ?? 2;
  if (!Number.isInteger(maxHops) || maxHops < 0)
    throw new RangeError(`maxHops: expected a non-negative integer, got ${String(maxHops)}`);
  return { groups, deployments, defaultGroup, maxHops };
}
