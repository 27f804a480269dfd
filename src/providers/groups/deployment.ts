import type { Clock } from '../../policy/clock.js';
import type { Policy } from '../../policy/pipeline.js';
import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import { createQuota, type Quota } from '../quota/index.js';
import type { Provider } from '../types.js';
import { DecayingAverage } from './latency.js';
import type { Deployment } from './types.js';

/** A deployment as the router runs it: its policy, its quota and what the strategies read. */
export interface DeploymentRuntime {
  readonly id: string;
  readonly provider: Provider;
  readonly weight: number;
  readonly contextWindow: number | undefined;
  readonly policy: Policy;
  readonly quota: Quota;
  readonly latency: DecayingAverage;
  /** Calls in progress on it in this process. */
  inFlight: number;
}

/** A deployment's fields checked and defaulted; `field` names it in errors (`groups.smart.deployments[1]`). */
export interface DeploymentSpec {
  readonly id: string;
  readonly provider: Provider;
  readonly weight: number;
  readonly contextWindow: number | undefined;
  readonly limits: { readonly rpm?: number; readonly tpm?: number; readonly windowMs?: number };
  readonly profile: BuiltinProfileName | ProfileInput | Profile | undefined;
}

const DEPLOYMENT_KEYS: readonly string[] = ['provider', 'id', 'weight', 'limits', 'contextWindow', 'profile'];

function isProvider(d: Deployment | Provider): d is Provider {
  return typeof (d as Provider).chat === 'function';
}

function positiveNumber(v: unknown, field: string, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    throw new RangeError(`${field}: expected a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  return v;
}

export function deploymentSpec(d: Deployment | Provider, field: string): DeploymentSpec {
  if (typeof d !== 'object' || d === null)
    throw new RangeError(`${field}: expected a deployment or a provider`);
  if (!isProvider(d))
    // A misspelt field (`weigth`, `context_window`) would otherwise fall back to its default, silently.
    for (const k of Object.keys(d))
      if (!DEPLOYMENT_KEYS.includes(k))
        throw new RangeError(`${field}.${k}: unknown deployment option (${DEPLOYMENT_KEYS.join(', ')})`);
  const dep: Deployment = isProvider(d) ? { provider: d } : d;
  const p = dep.provider as Provider | undefined;
  if (typeof p !== 'object' || p === null || typeof p.chat !== 'function' || typeof p.stream !== 'function')
    throw new RangeError(`${field}.provider: expected a provider (an object with chat and stream)`);
  const id = dep.id ?? `${p.name}/${p.model}`;
  if (typeof id !== 'string' || id.length === 0 || id.length > 200)
    throw new RangeError(`${field}.id: expected a non-empty string of at most 200 characters`);
  const limits = dep.limits as unknown;
  if (limits !== undefined) {
    if (limits === null || typeof limits !== 'object')
      throw new RangeError(
        `${field}.limits: expected an object, got ${limits === null ? 'null' : typeof limits}`,
      );
    // A misspelt limit (`tokensPerMinute`) would otherwise leave the deployment unpaced, silently.
    for (const k of Object.keys(limits))
      if (k !== 'rpm' && k !== 'tpm' && k !== 'windowMs')
        throw new RangeError(`${field}.limits.${k}: unknown limit (rpm, tpm, windowMs)`);
  }
  const rpm = positiveNumber(dep.limits?.rpm, `${field}.limits.rpm`, false);
  const tpm = positiveNumber(dep.limits?.tpm, `${field}.limits.tpm`, false);
  const windowMs = positiveNumber(dep.limits?.windowMs, `${field}.limits.windowMs`, false);
  return {
    id,
    provider: p,
    weight: positiveNumber(dep.weight, `${field}.weight`, false) ?? 1,
    contextWindow: positiveNumber(dep.contextWindow, `${field}.contextWindow`, true),
    limits: {
      ...(rpm !== undefined ? { rpm } : {}),
      ...(tpm !== undefined ? { tpm } : {}),
      ...(windowMs !== undefined ? { windowMs } : {}),
    },
    profile: dep.profile ?? p.profile,
  };
}

export function createDeploymentRuntime(
  spec: DeploymentSpec,
  policy: Policy,
  clock: Clock,
): DeploymentRuntime {
  return {
    id: spec.id,
    provider: spec.provider,
    weight: spec.weight,
    contextWindow: spec.contextWindow,
    policy,
    quota: createQuota({ ...spec.limits, clock, name: spec.id }),
    latency: new DecayingAverage(),
    inFlight: 0,
  };
}
