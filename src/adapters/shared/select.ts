import type { Effect } from '../../policy/decision.js';
import type { JsonSchemaObject } from '../../tools/formats.js';
import type { Registry } from '../../tools/registry.js';

/** Which of a registry's tools an adapter exposes. */
export interface ToolSelection {
  /** Only these tools (all by default). */
  readonly only?: readonly string[] | undefined;
  /** None of these. */
  readonly exclude?: readonly string[] | undefined;
}

/** What a framework needs to describe a registry tool to its model. */
export interface ToolInfo {
  readonly name: string;
  readonly description: string | undefined;
  /** A fresh copy: frameworks may annotate the schema they are given. */
  readonly inputSchema: JsonSchemaObject;
  readonly strict: boolean;
  readonly effect: Effect;
}

/**
 * The selected tools, in registration order. A name in `only` that the
 * registry does not hold is a mistake worth hearing about at start-up,
 * not a tool the model silently never gets.
 */
export function selectTools(registry: Registry, selection: ToolSelection = {}): ToolInfo[] {
  const only = selection.only ? new Set(selection.only) : undefined;
  const exclude = new Set(selection.exclude ?? []);
  if (only) {
    const missing = [...only].filter((n) => registry.get(n) === undefined);
    if (missing.length > 0)
      throw new TypeError(`only: no tool ${missing.map((n) => `"${n}"`).join(', ')} in the registry`);
  }
  const out: ToolInfo[] = [];
  // The Responses format carries everything at the top level: name, description, schema, strict.
  for (const d of registry.definitions('openai-responses')) {
    if ((only && !only.has(d.name)) || exclude.has(d.name)) continue;
    const tool = registry.get(d.name);
    if (!tool) continue;
    out.push({
      name: d.name,
      description: d.description,
      inputSchema: d.parameters,
      strict: d.strict,
      effect: tool.effect,
    });
  }
  return out;
}
