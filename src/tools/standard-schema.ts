/**
 * The Standard Schema contract (https://standardschema.dev), as much of it as
 * the registry reads, written out here so that no package is needed for it:
 * valibot, arktype, zod and others put these properties under `~standard`.
 * Structural, so any library's schema that keeps the contract fits.
 */

/** Where an issue is, one key per level; a level may be wrapped as `{ key }`. */
export type StandardPath = ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;

export interface StandardIssue {
  readonly message: string;
  readonly path?: StandardPath | undefined;
}

/** Success carries the parsed value and no issues; failure carries at least one issue. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** The JSON Schema targets the registry asks for, newest first. */
export type JsonSchemaTarget = 'draft-2020-12' | 'draft-07';

export interface StandardProperties<Input, Output> {
  readonly version: 1;
  readonly vendor: string;
  /** May answer at once or with a promise (a schema with an async check). */
  readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
  /** Type-level only: never present at run time. */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  /** The Standard JSON Schema extension: what arktype and zod 4 offer, and valibot (without a plugin) does not. */
  readonly jsonSchema?:
    | { readonly input: (options: { readonly target: JsonSchemaTarget }) => Record<string, unknown> }
    | undefined;
}

export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': StandardProperties<Input, Output>;
}

/** What a schema accepts, before its transformations. */
export type StandardInput<S extends StandardSchema> = NonNullable<S['~standard']['types']>['input'];

/** What a schema hands on after validating: the handler's input. */
export type StandardOutput<S extends StandardSchema> = NonNullable<S['~standard']['types']>['output'];

/** Whether a value keeps the contract at run time; arktype's types are functions, so functions count. */
export function isStandardSchema(value: unknown): value is StandardSchema {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props: unknown = (value as { '~standard'?: unknown })['~standard'];
  if (typeof props !== 'object' || props === null) return false;
  const p = props as { version?: unknown; vendor?: unknown; validate?: unknown };
  return p.version === 1 && typeof p.vendor === 'string' && typeof p.validate === 'function';
}
