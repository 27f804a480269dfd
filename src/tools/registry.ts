import { z } from 'zod/v4';
import { proveDelivery } from '../failure/attempt-delivery.js';
import type { FetchLike } from '../failure/classifying-fetch.js';
import { CancelledError, type InputIssue, isBreakwaterError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import { LedgerUnavailableError, OperationInFlightError } from '../idempotency/errors.js';
import { fingerprint } from '../idempotency/fingerprint.js';
import { contentKey, isValidKey, keyFromCallId, randomKey } from '../idempotency/keys.js';
import { type ClaimCheck, createLedger, type Ledger, type LedgerResult } from '../idempotency/ledger.js';
import { type ChaosOptions, chaosIssues } from '../policy/chaos.js';
import { type Clock, type Random, systemClock } from '../policy/clock.js';
import type { Effect } from '../policy/decision.js';
import type { PolicyObserver } from '../policy/events.js';
import { refuseIfOpened } from '../policy/failures.js';
import { type Fallback, fallbackIssues } from '../policy/fallback.js';
import {
  createHedger,
  type HedgeObserver,
  type HedgeOptions,
  type Hedger,
  hedgeOptionIssues,
} from '../policy/hedge.js';
import { type AttemptContext, createPolicy, type Policy, type Reconciliation } from '../policy/pipeline.js';
import {
  type BuiltinProfileName,
  builtinProfiles,
  type Profile,
  ProfileError,
  type ProfileInput,
  resolveProfile,
} from '../policy/profile.js';
import type { FailOnResult } from '../policy/result-failure.js';
import { isSharedHealthSource } from '../policy/shared.js';
import { createMemoryStore } from '../state/memory.js';
import type { StateStore } from '../state/store.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { type CallRules, checkCallOptions, keyRule } from './call-options.js';
import {
  CancelledInFlightError,
  invalidInput,
  ToolDefinitionError,
  ToolOutputError,
  UnknownToolError,
} from './errors.js';
import { createToolFetch } from './fetch.js';
import {
  type AnthropicToolDefinition,
  type DefinitionFor,
  type DefinitionFormat,
  type JsonSchemaObject,
  type OpenAIChatToolDefinition,
  type OpenAIResponsesToolDefinition,
  TOOL_NAME_PATTERN,
  type ToolResultFor,
} from './formats.js';
import { handleCalls } from './handle.js';
import { issuesOf, parseArguments, parseStandardArguments } from './input.js';
import { checkedAnswer, reconcileBounded } from './reconcile.js';
import {
  isStandardSchema,
  type JsonSchemaTarget,
  type StandardInput,
  type StandardOutput,
  type StandardSchema,
} from './standard-schema.js';
import { validationBounded } from './validation-bounded.js';

/** Who asked for a call: handed to a custom key function. */
export interface ToolCallInfo {
  readonly tool: string;
  /** The model's tool-call id, when the call came from a model. */
  readonly callId: string | undefined;
  /** What bounds a content-derived key: a conversation, a user. */
  readonly scope: string | undefined;
}

/**
 * How a tool's idempotency key is made, once per operation:
 * - `call-id` (default): from the model's tool-call id, so the same call
 *   delivered twice is one operation; a random key when there is none.
 * - `content`: from the tool name, the validated input and the call's
 *   `scope`, so the same action re-issued in a later turn replays.
 * - a function of the validated input and the call.
 */
export type KeyStrategy<I> = 'call-id' | 'content' | ((input: I, call: ToolCallInfo) => string);

export interface ToolContext {
  /** Aborts when the attempt times out, the deadline passes or the caller cancels. Pass it on. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The operation's deadline on the registry's clock, if it has one. */
  readonly deadline: number | undefined;
  /** The same on every attempt; send it to dependencies that de-duplicate by key. */
  readonly idempotencyKey: string;
  readonly callId: string | undefined;
  readonly tool: string;
  /** `fetch` bound to `signal`, sending `Idempotency-Key` for non-idempotent tools, throwing `HttpError` on non-2xx. */
  readonly fetch: FetchLike;
}

export interface ReconcileContext {
  /** Aborts when the operation's deadline passes or the caller cancels: pass it on. */
  readonly signal: AbortSignal | undefined;
  /** Why the outcome is in doubt. */
  readonly failure: Failure;
  readonly callId: string | undefined;
  readonly tool: string;
  /** `fetch` bound to `signal`, throwing `HttpError` on non-2xx. */
  readonly fetch: FetchLike;
}

/**
 * Asked when a non-idempotent attempt may have taken effect, or when an
 * earlier call with the same key was abandoned (its process died): look the
 * operation up by its key (or by anything the tool sent that identifies it).
 * `{ found: true, value }` ends the call with that value (checked against
 * `output`); only `{ found: false }` says it did not happen, so it is run
 * again; a throw, any other answer, or no answer by the deadline (or the
 * caller's cancel) leaves the outcome unknown.
 */
export type ReconcileFn<I, O> = (key: string, input: I, ctx: ReconcileContext) => Promise<Reconciliation<O>>;

export interface ToolIdempotency<I, O> {
  /** The dependency de-duplicates by `Idempotency-Key`: a repeat under the same key is safe to retry. */
  readonly honored?: boolean;
  readonly key?: KeyStrategy<I>;
  readonly reconcile?: ReconcileFn<I, O>;
}

/**
 * What a tool's input may be validated by: a zod object schema (zod 4, or
 * zod 3.25+'s `zod/v4`), or any Standard Schema (valibot, arktype, …).
 */
export type ToolInputSchema = z.ZodObject | StandardSchema;

/** What the handler receives: the schema's output, after its transformations. */
export type ToolInputOf<S extends ToolInputSchema> = S extends z.ZodType
  ? z.output<S>
  : S extends StandardSchema
    ? StandardOutput<S>
    : never;

/** What a caller passes: the schema's input, before its transformations. */
export type ToolArgumentsOf<S extends ToolInputSchema> = S extends z.ZodType
  ? z.input<S>
  : S extends StandardSchema
    ? StandardInput<S>
    : never;

export interface ToolSpec<S extends ToolInputSchema, O> {
  /** `^[a-zA-Z0-9_-]{1,64}$`, the rule both OpenAI and Anthropic apply. */
  readonly name: string;
  readonly description?: string;
  /**
   * Validates what the model sends; unknown top-level fields are refused
   * (for a Standard Schema: fields its JSON Schema's `properties` do not name,
   * unless it sets `additionalProperties` or `patternProperties`).
   */
  readonly input: S;
  /**
   * The input's JSON Schema as models are shown it. Made from `input` when
   * left out: zod's own conversion, or a Standard Schema's `jsonSchema`
   * (arktype, zod); required for one that has none (valibot: give
   * `toJsonSchema(schema)` from `@valibot/to-json-schema`).
   */
  readonly jsonSchema?: JsonSchemaObject;
  /** Validates what `execute` returns. */
  readonly output?: z.ZodType<O>;
  /** `non-idempotent` unless declared: a tool is only retried blindly when it is known to be safe. */
  readonly effect?: Effect;
  readonly idempotency?: ToolIdempotency<ToolInputOf<S>, O>;
  /** A built-in profile, one named in `createRegistry({ profiles })`, or overrides of the effect's built-in. */
  readonly profile?: string | ProfileInput;
  /** Ask OpenAI for strict schema adherence; the schema must then meet its rules. */
  readonly strict?: boolean;
  /**
   * When an attempt has not answered after a delay, run `execute` a second
   * time beside it; the first answer wins and the other's `ctx.signal` fires
   * (docs/policies.md, "Hedging"). Only for `effect: 'idempotent'`: both may
   * reach the dependency.
   */
  readonly hedge?: HedgeOptions;
  /**
   * Says an answer of `execute` is a failure (an image API's 200 without an
   * image): `true`, or `{ kind, message }`. Retried like an error only when
   * the tool is idempotent or its key is honored; a non-idempotent tool's
   * bad answer is never repeated: the model is told the call failed and may
   * have taken effect (`ResultRejectedError`, outcome `unknown`).
   */
  readonly failOnResult?: FailOnResult<O>;
  /**
   * The answer when the call fails with one of `kinds`, after retries and the
   * breaker (checked against `output` like any answer). Never for a call that
   * may have taken effect unless `unknownOutcome: 'fallback'`.
   */
  readonly fallback?: Fallback<O>;
  /** Chaos strategies for this tool, instead of the registry's (docs/policies.md, "Chaos"). */
  readonly chaos?: ChaosOptions;
  execute(input: ToolInputOf<S>, ctx: ToolContext): Promise<O> | O;
}

export interface CallOptions {
  /** The model's tool-call id: the default key derives from it, within `scope`. */
  readonly callId?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** A time budget for the call, from now; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number | undefined;
  /**
   * Bounds every derived key (a tenant, a user, a conversation): the same
   * call id or content under two scopes is two operations. Tool-call ids are
   * the model's text and repeat across conversations, so pass one whenever
   * one registry serves more than one of them.
   */
  readonly scope?: string | undefined;
  /** Your own key for this operation, overriding the tool's strategy. */
  readonly idempotencyKey?: string | undefined;
}

export interface HandleOptions {
  readonly signal?: AbortSignal | undefined;
  readonly deadlineMs?: number | undefined;
  readonly scope?: string | undefined;
  /** Calls run at once; default 8. */
  readonly concurrency?: number | undefined;
}

export interface RegisteredTool<I = unknown, O = unknown> {
  readonly name: string;
  readonly effect: Effect;
  readonly honored: boolean;
  /** The tool's own policy: its breaker and gate are this tool's alone. */
  readonly policy: Policy;
  /** The tool's hedging (its delay, budget and counts), when its spec asks for it. */
  readonly hedger: Hedger | undefined;
  /** The input schema as JSON Schema, as the models are shown it. */
  readonly inputSchema: JsonSchemaObject;
  /** `registry.call` for this tool, typed; `args` may also be a JSON string. */
  call(args: I | string, options?: CallOptions): Promise<O>;
}

export interface RegistryOptions {
  /** Where the ledger lives; an in-process `createMemoryStore()` by default. */
  readonly store?: StateStore;
  /** Watches every tool's policy, beside `telemetry`'s observer when that is given. */
  readonly observer?: PolicyObserver;
  /** Each call becomes an `execute_tool` span, its attempts child spans, a replay a ledger event. */
  readonly telemetry?: Telemetry;
  /** Named profiles tools may refer to, besides the built-ins. */
  readonly profiles?: Readonly<Record<string, BuiltinProfileName | ProfileInput | Profile>>;
  readonly clock?: Clock;
  readonly random?: Random;
  /** The fetch under `ctx.fetch`; Node's own by default. */
  readonly fetch?: FetchLike;
  /** How long the ledger remembers an operation (and replays it); default 24 hours. */
  readonly ledgerTtlMs?: number;
  /** How often a twin polls for an operation run by another process; default 50 ms. */
  readonly ledgerPollMs?: number;
  /**
   * How long a claim outlives its operation's deadline before another process
   * may treat it as abandoned (its owner died). The owner's attempts are
   * aborted at the deadline, so this covers only clock skew and a slow exit;
   * default 5 000 ms.
   */
  readonly ledgerLeaseGraceMs?: number;
  /**
   * Chaos strategies for every tool without its own (`ToolSpec.chaos`): inert
   * unless `enabled` AND `BREAKWATER_CHAOS=1`, and refused in production.
   */
  readonly chaos?: ChaosOptions;
  /** Largest JSON argument string accepted from a model; default 1 MiB. */
  readonly maxArgumentBytes?: number;
  /**
   * Refuse a call without `scope` (`InvalidInputError` naming it). Turn on
   * when one registry serves several tenants or conversations: without a
   * scope, two of them sending the same tool-call id share one operation.
   */
  readonly requireScope?: boolean;
}

export interface Registry {
  register<S extends ToolInputSchema, O>(definition: ToolSpec<S, O>): RegisteredTool<ToolArgumentsOf<S>, O>;
  get(name: string): RegisteredTool | undefined;
  readonly names: readonly string[];
  /** Runs one call under the tool's policy. Throws a typed `BreakwaterError`. */
  call(name: string, args: unknown, options?: CallOptions): Promise<unknown>;
  definitions<F extends DefinitionFormat>(format: F): DefinitionFor[F][];
  /**
   * Runs a model's tool calls (OpenAI chat `tool_calls`, Responses `output`
   * items, Anthropic `content` blocks), concurrently, and answers each in its
   * provider's format, in order. Items that are not tool calls are skipped.
   * A failing tool becomes an error result, never a throw.
   */
  handleToolCalls<const C extends { readonly type: string }>(
    calls: readonly C[] | null | undefined,
    options?: HandleOptions,
  ): Promise<ToolResultFor<C>[]>;
}

/** How an entry validates arguments: zod at once, a Standard Schema perhaps asynchronously. */
type EntryInput =
  | { readonly kind: 'zod'; readonly schema: z.ZodObject }
  | {
      readonly kind: 'standard';
      readonly schema: StandardSchema;
      readonly known: ReadonlySet<string> | undefined;
    };

interface Entry {
  readonly name: string;
  readonly description: string | undefined;
  readonly input: EntryInput;
  readonly output: z.ZodType | undefined;
  readonly effect: Effect;
  readonly honored: boolean;
  readonly key: KeyStrategy<unknown>;
  readonly reconcile: ReconcileFn<unknown, unknown> | undefined;
  readonly policy: Policy;
  readonly hedger: Hedger | undefined;
  readonly schema: JsonSchemaObject;
  readonly strict: boolean;
  readonly failOnResult: FailOnResult<unknown> | undefined;
  readonly fallback: Fallback<unknown> | undefined;
  readonly execute: (input: unknown, ctx: ToolContext) => unknown;
}

/** The lease of a claim whose operation has no deadline: renewed every third of it while the call runs. */
const UNBOUNDED_LEASE_MS = 30_000;

function describeName(name: unknown): string {
  return typeof name === 'string' ? name.slice(0, 64) : `(${typeof name})`;
}

/** Extra top-level fields are refused rather than silently dropped: a model that invents one should hear so. */
function strictInput(schema: z.ZodObject): z.ZodObject {
  return schema._zod.def.catchall === undefined ? schema.strict() : schema;
}

function jsonSchemaOf(schema: z.ZodObject): JsonSchemaObject {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return { ...rest, type: 'object' };
}

const JSON_SCHEMA_TARGETS: readonly JsonSchemaTarget[] = ['draft-2020-12', 'draft-07'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A Standard Schema's own JSON Schema (the Standard JSON Schema extension),
 * in the draft zod's conversion uses, else draft-07: a library throws for a
 * target it does not support. Undefined when the schema offers none.
 */
function standardJsonSchemaOf(schema: StandardSchema): Record<string, unknown> | undefined {
  const convert = schema['~standard'].jsonSchema;
  if (typeof convert?.input !== 'function') return undefined;
  let last: unknown;
  for (const target of JSON_SCHEMA_TARGETS) {
    try {
      return convert.input({ target });
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Strict as the zod path is: a schema that names its properties and says
 * nothing of others refuses them, and says so to the model. The top-level
 * names it accepts, when others are refused.
 */
function strictJsonSchema(schema: JsonSchemaObject): {
  shown: JsonSchemaObject;
  known: ReadonlySet<string> | undefined;
} {
  const { properties, additionalProperties, patternProperties } = schema;
  if (!isPlainObject(properties) || patternProperties !== undefined)
    return { shown: schema, known: undefined };
  if (additionalProperties === undefined)
    return { shown: { ...schema, additionalProperties: false }, known: new Set(Object.keys(properties)) };
  return {
    shown: schema,
    known: additionalProperties === false ? new Set(Object.keys(properties)) : undefined,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createRegistry(options: RegistryOptions = {}): Registry {
  const clock = options.clock ?? systemClock;
  const store = options.store ?? createMemoryStore({ clock });
  const ledgerTtlMs = options.ledgerTtlMs ?? 24 * 60 * 60 * 1000;
  // Bounded above too: a TTL Redis cannot take (1e300 is sent as "1e+300") would refuse every keyed call.
  if (!Number.isFinite(ledgerTtlMs) || ledgerTtlMs <= 0 || ledgerTtlMs > Number.MAX_SAFE_INTEGER)
    throw new RangeError(
      `ledgerTtlMs: expected a positive number of milliseconds up to ${Number.MAX_SAFE_INTEGER}, got ${ledgerTtlMs}`,
    );
  const leaseGraceMs = options.ledgerLeaseGraceMs ?? 5_000;
  if (!Number.isFinite(leaseGraceMs) || leaseGraceMs < 0) {
    throw new RangeError(
      `ledgerLeaseGraceMs: expected a non-negative number of milliseconds, got ${leaseGraceMs}`,
    );
  }
  const ledger: Ledger = createLedger({
    store,
    clock,
    ttlMs: ledgerTtlMs,
    ...(options.ledgerPollMs !== undefined ? { pollMs: options.ledgerPollMs } : {}),
  });
  const maxArgumentBytes = options.maxArgumentBytes ?? 1024 * 1024;
  if (options.chaos !== undefined) {
    const issues = chaosIssues(options.chaos);
    if (issues.length > 0)
      throw new RangeError(
        `invalid chaos options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      );
  }
  const callRules: CallRules = { requireScope: options.requireScope === true, ledgerTtlMs, leaseGraceMs };
  const tools = new Map<string, Entry>();
  const handles = new Map<string, RegisteredTool>();

  function profileFor(def: ToolSpec<ToolInputSchema, unknown>, effect: Effect): Profile {
    const p = def.profile;
    if (p === undefined) return builtinProfiles[effect];
    if (typeof p === 'string') {
      const named = options.profiles && Object.hasOwn(options.profiles, p) ? options.profiles[p] : undefined;
      if (named !== undefined) return resolveProfile(named);
      return resolveProfile(p as BuiltinProfileName);
    }
    return resolveProfile({ extends: effect, ...p });
  }

  function validate(def: ToolSpec<ToolInputSchema, unknown>): Entry {
    const issues: InputIssue[] = [];
    const name = def.name;
    if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name))
      issues.push({ path: 'name', message: `must match ${TOOL_NAME_PATTERN.source}` });
    else if (tools.has(name))
      issues.push({ path: 'name', message: 'a tool with this name is already registered' });
    if (def.description !== undefined && typeof def.description !== 'string')
      issues.push({ path: 'description', message: 'must be a string' });
    if (typeof def.execute !== 'function') issues.push({ path: 'execute', message: 'must be a function' });
    const effect = def.effect ?? 'non-idempotent';
    if (effect !== 'idempotent' && effect !== 'non-idempotent')
      issues.push({ path: 'effect', message: 'must be "idempotent" or "non-idempotent"' });
    if (def.output !== undefined && !(def.output instanceof z.ZodType))
      issues.push({ path: 'output', message: 'must be a zod schema' });
    if (def.hedge !== undefined) {
      if (effect !== 'idempotent')
        issues.push({
          path: 'hedge',
          message:
            'only for effect "idempotent": a hedged call runs twice, and both may take effect (make the tool idempotent, or leave hedge out)',
        });
      issues.push(...hedgeOptionIssues(def.hedge, 'hedge'));
    }
    if (def.failOnResult !== undefined && typeof def.failOnResult !== 'function')
      issues.push({ path: 'failOnResult', message: 'must be a function' });
    if (def.fallback !== undefined) issues.push(...fallbackIssues(def.fallback, 'fallback'));
    if (def.chaos !== undefined) issues.push(...chaosIssues(def.chaos, 'chaos'));

    const idem = def.idempotency ?? {};
    if (idem.honored !== undefined && typeof idem.honored !== 'boolean')
      issues.push({ path: 'idempotency.honored', message: 'must be a boolean' });
    const key = idem.key ?? 'call-id';
    if (key !== 'call-id' && key !== 'content' && typeof key !== 'function')
      issues.push({ path: 'idempotency.key', message: 'must be "call-id", "content" or a function' });
    if (idem.reconcile !== undefined && typeof idem.reconcile !== 'function')
      issues.push({ path: 'idempotency.reconcile', message: 'must be a function' });

    let input: EntryInput | undefined;
    let schema: JsonSchemaObject | undefined;
    let explicit: JsonSchemaObject | undefined;
    if (def.jsonSchema !== undefined) {
      if (isPlainObject(def.jsonSchema) && def.jsonSchema.type === 'object') {
        const { $schema: _drop, ...rest } = def.jsonSchema;
        explicit = { ...rest, type: 'object' };
      } else issues.push({ path: 'jsonSchema', message: 'must be a JSON Schema object with type "object"' });
    }
    const given: unknown = def.input;
    if (given instanceof z.ZodObject) {
      const strict = strictInput(given);
      input = { kind: 'zod', schema: strict };
      try {
        schema = explicit ?? jsonSchemaOf(strict);
      } catch (err) {
        issues.push({ path: 'input', message: `cannot be expressed as JSON Schema: ${errorText(err)}` });
      }
    } else if (given instanceof z.ZodType) {
      issues.push({ path: 'input', message: 'must be a zod object schema (z.object or z.strictObject)' });
    } else if (isStandardSchema(given)) {
      let own: Record<string, unknown> | undefined;
      try {
        own = explicit ?? standardJsonSchemaOf(given);
      } catch (err) {
        issues.push({
          path: 'input',
          message: `cannot be expressed as JSON Schema (${errorText(err)}): give jsonSchema`,
        });
      }
      if (own === undefined && !issues.some((i) => i.path === 'input' || i.path === 'jsonSchema')) {
        const vendor = given['~standard'].vendor;
        // zod 3's own schemas (`import { z } from 'zod'` on 3.x) keep the contract but cannot convert themselves.
        const hint =
          vendor === 'zod' ? " (or build it with zod 4: `import { z } from 'zod/v4'` on zod 3.25+)" : '';
        issues.push({
          path: 'jsonSchema',
          message: `required: the ${vendor} schema in input gives no JSON Schema of its own (Standard JSON Schema), so say what models are shown${hint}`,
        });
      } else if (own !== undefined) {
        const { $schema: _drop, ...rest } = own;
        if (rest.type !== 'object') {
          issues.push({
            path: 'input',
            message: 'must describe an object (its JSON Schema has no type "object")',
          });
        } else {
          const { shown, known } = strictJsonSchema({ ...rest, type: 'object' });
          input = { kind: 'standard', schema: given, known };
          schema = shown;
        }
      }
    } else {
      issues.push({
        path: 'input',
        message: 'must be a zod object schema or a Standard Schema (valibot, arktype, …)',
      });
    }

    let profile: Profile | undefined;
    if (effect === 'idempotent' || effect === 'non-idempotent') {
      try {
        profile = profileFor(def, effect);
      } catch (err) {
        if (!(err instanceof ProfileError)) throw err;
        for (const i of err.issues)
          issues.push({ path: i.path ? `profile.${i.path}` : 'profile', message: i.message });
      }
    }
    const totalMs = profile?.timeout.totalMs ?? null;
    if (totalMs !== null && totalMs + leaseGraceMs > ledgerTtlMs) {
      // The record must outlive the claim: a retry after the deadline must find the result, not nothing.
      issues.push({
        path: 'profile.timeout.totalMs',
        message: `${totalMs} ms plus ledgerLeaseGraceMs (${leaseGraceMs} ms) is longer than the registry's ledgerTtlMs (${ledgerTtlMs} ms): raise ledgerTtlMs or shorten the deadline`,
      });
    }
    if (issues.length > 0 || !input || !schema || !profile)
      throw new ToolDefinitionError(describeName(name), issues);
    const observer = [options.telemetry?.observer({ type: 'tool', tool: name }), options.observer];

    return {
      name,
      description: def.description,
      input,
      output: def.output,
      effect,
      honored: idem.honored === true,
      key: key as KeyStrategy<unknown>,
      reconcile: idem.reconcile as ReconcileFn<unknown, unknown> | undefined,
      policy: createPolicy(profile, {
        dependency: name,
        clock,
        ...(options.random ? { random: options.random } : {}),
        observer,
        // A store that shares health (Redis) shares each tool's breaker, cooldown and budget too.
        ...(isSharedHealthSource(store) ? { shared: store } : {}),
        chaos: def.chaos ?? options.chaos,
      }),
      hedger: def.hedge === undefined ? undefined : createHedger(def.hedge, { clock }),
      schema,
      strict: def.strict === true,
      failOnResult: def.failOnResult as FailOnResult<unknown> | undefined,
      fallback: def.fallback,
      execute: def.execute as (input: unknown, ctx: ToolContext) => unknown,
    };
  }

  function keyFor(entry: Entry, input: unknown, o: CallOptions): { key: string; keyed: boolean } {
    if (o.idempotencyKey !== undefined) return { key: o.idempotencyKey, keyed: true };
    const k = entry.key;
    if (typeof k === 'function') {
      const key: unknown = k(input, { tool: entry.name, callId: o.callId, scope: o.scope });
      if (!isValidKey(key))
        throw invalidInput(entry.name, [
          { path: 'idempotency.key', message: `the key function's result: ${keyRule(key)}` },
        ]);
      return { key, keyed: true };
    }
    if (k === 'content') return { key: contentKey(entry.name, input, o.scope), keyed: true };
    if (o.callId !== undefined && o.callId !== '')
      return { key: keyFromCallId(entry.name, o.callId, o.scope), keyed: true };
    // Nobody else can name this operation, so there is nothing to replay or join: no ledger round trip.
    return { key: randomKey(), keyed: false };
  }

  /** Whether the operation may have taken effect: what the model is told, and (when repeating is unsafe) what the ledger records. */
  function mayHaveTakenEffect(entry: Entry, err: unknown): boolean {
    if (entry.effect === 'idempotent') return isBreakwaterError(err) && err.outcome === 'unknown';
    if (!isBreakwaterError(err)) return true;
    if (err.outcome === 'unknown' || err.failure.delivery === 'unknown') return true;
    // With an honored key, an attempt that may have gone through is retried; when the retry is then
    // refused here (breaker open, gate, budget, deadline) or answered 409, the earlier one may still have acted.
    return entry.honored && err.attempts.some((a) => a.failure?.delivery === 'unknown');
  }

  function validateOutput(entry: Entry, value: unknown): unknown {
    if (!entry.output) return value;
    const r = entry.output.safeParse(value);
    if (r.success) return r.data;
    throw new ToolOutputError(entry.name, issuesOf(r.error), entry.effect === 'non-idempotent');
  }

  async function invoke(
    entry: Entry,
    args: unknown,
    o: CallOptions,
    onHedge?: HedgeObserver,
  ): Promise<LedgerResult<unknown>> {
    checkCallOptions(entry.name, o, callRules);
    const profile = entry.policy.profile;
    let budget = profile.timeout.totalMs ?? undefined;
    if (o.deadlineMs !== undefined)
      budget = budget === undefined ? o.deadlineMs : Math.min(budget, o.deadlineMs);
    // From before validating: an async schema's checks come out of the call's time too.
    const deadlineAt = budget === undefined ? undefined : clock.now() + budget;
    // Zod answers at once and is not awaited; a Standard Schema may answer with a promise, awaited no longer
    // than the call may last (a check that never settles must not hold it forever).
    // A key that names the delivery (the model's call id, the caller's own key) is checked against what was
    // sent, not the schema's output: a schema may stamp each validation (a default of `Date.now()`, a random
    // id), and the same call delivered again must replay, not be refused as key reuse. Taken before the
    // schema runs, which may change the object it is given.
    const namesDelivery =
      o.idempotencyKey !== undefined ||
      (entry.key === 'call-id' && o.callId !== undefined && o.callId !== '');
    let sentFingerprint: string | undefined;
    const onRead = namesDelivery
      ? (sent: object) => {
          sentFingerprint = fingerprint(sent);
        }
      : undefined;
    const input =
      entry.input.kind === 'zod'
        ? parseArguments(entry.name, entry.input.schema, args, { maxArgumentBytes, onRead })
        : await parseStandardArguments(entry.name, entry.input.schema, args, {
            maxArgumentBytes,
            onRead,
            known: entry.input.known,
            within: (answer) => validationBounded(clock, deadlineAt, o.signal, entry.name, answer),
          });
    const { key, keyed } = keyFor(entry, input, o);
    const connectMs = profile.timeout.connectMs ?? undefined;
    const sendKey = entry.effect === 'non-idempotent' ? key : undefined;
    // Set while the ledger holds this call's key: asked before every attempt.
    let stillOurs: ClaimCheck | undefined;
    let claimLost = false;

    /** One run of `execute`; `signal` is the attempt's own, or a hedged request's. */
    const once = (ctx: AttemptContext, signal: AbortSignal) => {
      let fetch: FetchLike | undefined;
      // Getters, so an attempt that never looks at its signal or fetch does not pay for them.
      const toolCtx: ToolContext = {
        get signal() {
          return signal;
        },
        attempt: ctx.attempt,
        deadline: ctx.deadline,
        idempotencyKey: key,
        callId: o.callId,
        tool: entry.name,
        get fetch() {
          fetch ??= createToolFetch({
            signal,
            idempotencyKey: sendKey,
            connectTimeoutMs: connectMs,
            fetch: options.fetch,
          });
          return fetch;
        },
      };
      if (stillOurs === undefined) return entry.execute(input, toolCtx);
      // A process paused in the backoff (a long GC, a laptop asleep) may wake past its lease, after
      // another process took the call over and ran it: this attempt would be a second execution.
      // The first attempt too: it may have waited for admission (the gate's queue, an open breaker)
      // since the ledger confirmed the claim. Answered at once while the lease is fresh.
      return stillOurs().then((held) => {
        if (held) {
          // The check took a turn of the event loop, in which another call's failure may have opened the breaker.
          refuseIfOpened(entry.policy.breaker, clock.now(), entry.name);
          return entry.execute(input, toolCtx);
        }
        claimLost = true;
        // A cancel to the policy: it stops retrying and tells the breaker nothing; `run` says why.
        throw new CancelledError({
          failure: {
            kind: 'cancelled',
            delivery: 'not_sent',
            code: 'claim_lost',
            message: "this call's claim lapsed and another call took it over",
            cause: undefined,
          },
          dependency: entry.name,
        });
      });
    };
    const hedger = entry.hedger;
    // A hedged attempt is one attempt for the policy (its timeout, breaker and retries): two requests inside it.
    const attempt = hedger
      ? (ctx: AttemptContext) =>
          hedger.run((signal) => Promise.resolve(once(ctx, signal)), {
            signal: ctx.signal,
            alternative: () => (signal) => Promise.resolve(once(ctx, signal)),
            observer: onHedge,
          })
      : (ctx: AttemptContext) => once(ctx, ctx.signal);
    const reconcile = entry.reconcile;
    const lookUp = reconcile
      ? (failure: Failure, outer: AbortSignal | undefined) =>
          reconcileBounded(clock, deadlineAt, outer, async (signal) =>
            checkedAnswer(
              entry.name,
              await reconcile(key, input, {
                signal,
                failure,
                callId: o.callId,
                tool: entry.name,
                fetch: createToolFetch({ signal, connectTimeoutMs: connectMs, fetch: options.fetch }),
              }),
            ),
          )
      : undefined;
    const run = async (check?: ClaimCheck) => {
      stillOurs = check;
      claimLost = false;
      let value: unknown;
      try {
        // Each attempt in its own delivery record: `not_sent` only if none of its requests reached a server.
        value = await entry.policy.run(
          proveDelivery(attempt, { strict: entry.effect === 'non-idempotent' }),
          {
            signal: o.signal,
            // What is left of the call's deadline: the ledger's round trips came out of it.
            deadlineMs: deadlineAt === undefined ? undefined : Math.max(0, deadlineAt - clock.now()),
            effect: entry.effect,
            idempotencyKey: key,
            keyHonored: entry.honored,
            reconcile: lookUp,
            failOnResult: entry.failOnResult,
            fallback: entry.fallback,
          },
        );
      } catch (err) {
        if (claimLost) throw new OperationInFlightError(entry.name, 'taken_over');
        // One outcome per end: a cancel that may have left the request out is unknown in the error too.
        if (err instanceof CancelledError && err.outcome !== 'unknown' && mayHaveTakenEffect(entry, err))
          throw new CancelledInFlightError(err);
        throw err;
      }
      // A fallback told to cover cancels must not answer for a call another process has taken over.
      if (claimLost) throw new OperationInFlightError(entry.name, 'taken_over');
      return validateOutput(entry, value);
    };
    if (!keyed) return { value: await run(), source: 'executed' };

    const unsafeToRepeat = entry.effect === 'non-idempotent' && !entry.honored;
    const recorded = ledger.run(
      {
        key: `${entry.name}:${key}`,
        fingerprint: sentFingerprint ?? fingerprint(input),
        signal: o.signal,
        deadlineAt,
        // A claim outlives the deadline by the grace; without a deadline it is renewed while the call runs.
        leaseMs: budget === undefined ? UNBOUNDED_LEASE_MS : Math.max(1, budget + leaseGraceMs),
        takeOver: !unsafeToRepeat,
        reconcile: lookUp
          ? async () => {
              const found = await lookUp(
                {
                  kind: 'unknown',
                  delivery: 'unknown',
                  code: 'abandoned',
                  message: 'an earlier call with this key did not report back before its lease ended',
                  cause: undefined,
                },
                o.signal,
              );
              return found.found ? { found: true, value: validateOutput(entry, found.value) } : found;
            }
          : undefined,
        recordUnknown: (err) => unsafeToRepeat && mayHaveTakenEffect(entry, err),
        dependency: entry.name,
      },
      run,
    );
    if (entry.effect === 'non-idempotent') return recorded;
    // Fail open: an idempotent call is safe without the ledger, so a store that is down must not stop it.
    // (A non-idempotent one fails closed: better refused than run twice.)
    return recorded.catch((err: unknown) => {
      if (err instanceof LedgerUnavailableError)
        return run().then((value) => ({ value, source: 'executed' as const }));
      throw err;
    });
  }

  /** One call, inside a telemetry operation when there is telemetry. */
  async function callEntry(entry: Entry, args: unknown, o: CallOptions): Promise<unknown> {
    const telemetry = options.telemetry;
    if (!telemetry) return (await invoke(entry, args, o)).value;
    const keyPresent =
      o.idempotencyKey !== undefined ||
      entry.key !== 'call-id' ||
      (o.callId !== undefined && o.callId !== '');
    return telemetry.operation(
      {
        type: 'tool',
        tool: entry.name,
        callId: o.callId,
        description: entry.description,
        effect: entry.effect,
        profile: entry.policy.profile.name,
        keyPresent,
        arguments: args,
      },
      async (scope) => {
        const { value, source } = await invoke(entry, args, o, scope.hedge && ((e) => scope.hedge?.(e)));
        if (source !== 'executed') scope.replayed();
        scope.result(value);
        return value;
      },
    );
  }

  function unknownTool(name: unknown) {
    const shown =
      typeof name === 'string' && TOOL_NAME_PATTERN.test(name) ? `"${name}"` : 'with an invalid name';
    return new UnknownToolError(shown, [...tools.keys()]);
  }

  const registry: Registry = {
    register<S extends ToolInputSchema, O>(def: ToolSpec<S, O>): RegisteredTool<ToolArgumentsOf<S>, O> {
      const entry = validate(def as unknown as ToolSpec<ToolInputSchema, unknown>);
      tools.set(entry.name, entry);
      const handle: RegisteredTool<ToolArgumentsOf<S>, O> = {
        name: entry.name,
        effect: entry.effect,
        honored: entry.honored,
        policy: entry.policy,
        hedger: entry.hedger,
        inputSchema: entry.schema,
        call: (args, o = {}) => callEntry(entry, args, o) as Promise<O>,
      };
      handles.set(entry.name, handle as RegisteredTool);
      return handle;
    },

    get: (name) => handles.get(name),

    get names() {
      return [...tools.keys()];
    },

    async call(name, args, o = {}) {
      const entry = typeof name === 'string' ? tools.get(name) : undefined;
      if (!entry) throw unknownTool(name);
      return callEntry(entry, args, o);
    },

    definitions<F extends DefinitionFormat>(format: F): DefinitionFor[F][] {
      const out: Array<DefinitionFor[DefinitionFormat]> = [];
      for (const t of tools.values()) {
        // A copy each time: a caller that edits one request's tools must not change the next request's.
        const schema = structuredClone(t.schema);
        const description = t.description !== undefined ? { description: t.description } : {};
        if (format === 'openai') {
          const d: OpenAIChatToolDefinition = {
            type: 'function',
            function: {
              name: t.name,
              ...description,
              parameters: schema,
              ...(t.strict ? { strict: true } : {}),
            },
          };
          out.push(d);
        } else if (format === 'openai-responses') {
          const d: OpenAIResponsesToolDefinition = {
            type: 'function',
            name: t.name,
            ...description,
            parameters: schema,
            strict: t.strict,
          };
          out.push(d);
        } else if (format === 'anthropic') {
          const d: AnthropicToolDefinition = { name: t.name, ...description, input_schema: schema };
          out.push(d);
        } else {
          throw new TypeError(
            `definitions: unknown format "${String(format)}" (openai, openai-responses, anthropic)`,
          );
        }
      }
      return out as DefinitionFor[F][];
    },

    handleToolCalls(calls, o = {}) {
      return handleCalls(calls, o, {
        call: (name, args, callOptions) => registry.call(name, args, callOptions),
        outcomeOf: (name, err) => {
          const entry = tools.get(name);
          return entry && mayHaveTakenEffect(entry, err) ? 'unknown' : 'failed';
        },
      });
    },
  };
  return registry;
}
