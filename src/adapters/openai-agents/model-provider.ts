import {
  type Model,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type ModelRetryAdvice,
  type StreamEvent,
  Usage,
} from '@openai/agents';
import type { Router, RouterCallOptions } from '../../providers/router.js';
import type { ChatResponse } from '../../providers/types.js';
import { chatRequestFromModelRequest, outputItems } from './items.js';

export interface AgentsModelProviderOptions {
  /**
   * Which of the router's model groups serves an agent's `model` name: a
   * table (`{ 'gpt-4.1': 'smart', 'gpt-4.1-mini': 'fast' }`) or a function
   * (`(name) => name` when agents name groups directly). A name it leaves
   * unmapped goes to the router's `defaultGroup`.
   */
  readonly groups?:
    | Readonly<Record<string, string>>
    | ((modelName: string | undefined) => string | undefined)
    | undefined;
  /** Time for each model call (every deployment and wait included). Default: the router profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
}

/** The `source` of the run's raw `model` events: each carries one breakwater `ChatChunk`. */
const RAW_MODEL_EVENT_SOURCE = 'breakwater';

function usageOf(r: ChatResponse): Usage {
  return new Usage({
    requests: 1,
    inputTokens: r.usage?.inputTokens ?? 0,
    outputTokens: r.usage?.outputTokens ?? 0,
    totalTokens: r.usage?.totalTokens ?? 0,
  });
}

/** Which deployment, provider and model answered. */
function providerData(r: ChatResponse): Record<string, string> {
  return {
    provider: r.provider,
    model: r.model,
    ...(r.deployment !== undefined ? { deployment: r.deployment } : {}),
  };
}

function modelResponse(r: ChatResponse): ModelResponse {
  return {
    usage: usageOf(r),
    output: outputItems(r),
    ...(r.id !== undefined ? { responseId: r.id } : {}),
    providerData: providerData(r),
  };
}

/**
 * The router as an Agents SDK model: each model call of a run is one routed
 * call, so a run fails over between any two turns (its items are neutral, so
 * the next deployment may be another vendor's), and a streamed turn fails
 * over until its first chunk.
 */
class RouterModel implements Model {
  constructor(
    private readonly router: Router,
    private readonly group: string | undefined,
    private readonly deadlineMs: number | undefined,
  ) {}

  private callOptions(signal: AbortSignal | undefined): RouterCallOptions {
    return {
      ...(signal ? { signal } : {}),
      ...(this.group !== undefined ? { group: this.group } : {}),
      ...(this.deadlineMs !== undefined ? { deadlineMs: this.deadlineMs } : {}),
    };
  }

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const r = await this.router.chat(chatRequestFromModelRequest(request), this.callOptions(request.signal));
    return modelResponse(r);
  }

  /**
   * A routed stream as the events the SDK's own models send:
   * `response_started` at the first chunk, then for every chunk a raw `model`
   * event (the breakwater chunk itself, source `breakwater`) followed by what
   * it means to the run (`output_text_delta` for text), and at the `finish`
   * chunk `response_done` with the usage and every output item (the message,
   * then the function calls with their call ids and arguments), from which the
   * run executes its tools. Failover happens before the first chunk; a failure
   * after it is the router's `StreamInterruptedError`, thrown to the run.
   */
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const chat = chatRequestFromModelRequest(request);
    let started = false;
    for await (const chunk of this.router.stream(chat, this.callOptions(request.signal))) {
      if (!started) {
        started = true;
        yield { type: 'response_started' };
      }
      yield { type: 'model', event: chunk, providerData: { rawModelEventSource: RAW_MODEL_EVENT_SOURCE } };
      if (chunk.type === 'text') yield { type: 'output_text_delta', delta: chunk.text };
      else if (chunk.type === 'finish') {
        const r = chunk.response;
        const usage = usageOf(r);
        yield {
          type: 'response_done',
          response: {
            id: r.id ?? 'breakwater',
            usage: {
              requests: usage.requests,
              inputTokens: usage.inputTokens,
              outputTokens: usage.outputTokens,
              totalTokens: usage.totalTokens,
            },
            output: outputItems(r),
            providerData: providerData(r),
          },
        };
      }
    }
  }

  /** The router has retried and failed over already: a second retry loop would multiply its attempts. */
  getRetryAdvice(): ModelRetryAdvice {
    return { suggested: false, reason: 'the breakwater router already retried and failed over' };
  }
}

/**
 * The router as an Agents SDK `ModelProvider`:
 * `new Runner({ modelProvider: createAgentsModelProvider(router, { groups }) })`.
 * Every agent's model calls go through the router, to the group its `model`
 * name maps to. An unknown group is the router's `RangeError`, at the first call.
 */
export function createAgentsModelProvider(
  router: Router,
  options: AgentsModelProviderOptions = {},
): ModelProvider {
  const groups = options.groups;
  const groupOf = (name: string | undefined): string | undefined =>
    typeof groups === 'function'
      ? groups(name)
      : groups !== undefined && name !== undefined && Object.hasOwn(groups, name)
        ? groups[name]
        : undefined;
  const models = new Map<string | undefined, RouterModel>();
  return {
    getModel(name) {
      const group = groupOf(name);
      let model = models.get(group);
      if (model === undefined) {
        model = new RouterModel(router, group, options.deadlineMs);
        models.set(group, model);
      }
      return model;
    },
  };
}
