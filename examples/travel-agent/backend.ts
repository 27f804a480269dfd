/**
 * What the agent loop runs on: a way to ask the model and a way to run
 * tools. The demo has two — breakwater's (breakwater.ts) and the naive
 * retry wrapper's (naive.ts) — and the same agent, services and faults for
 * both, so that the difference between the runs is the resilience alone.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ToolsInput } from 'breakwater';
import type { AgentOptions } from './agent.js';
import type { DependencyRow, Fallback, Transition } from './summary.js';

export interface Backend {
  readonly chat: AgentOptions['chat'];
  readonly runTools: AgentOptions['runTools'];
  /** The tool definitions the model is shown. */
  readonly tools: ToolsInput;
  /** Runs the whole agent inside what the backend needs around it (breakwater: the root span). */
  around<T>(fn: () => Promise<T>): Promise<T>;
  /** The run's numbers, once it has ended. */
  report(): BackendReport;
  close(): Promise<void>;
}

export interface BackendReport {
  readonly dependencies: DependencyRow[];
  readonly fallbacks: Fallback[];
  readonly breakerTransitions: Transition[];
  /** Routed model calls. */
  readonly routes: number;
  /** The OpenTelemetry spans of the run (none for the naive backend). */
  readonly spans: readonly ReadableSpan[] | undefined;
}
