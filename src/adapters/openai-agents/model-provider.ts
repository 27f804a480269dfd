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
  /** Time for each model call (every deployment and wait included). Default: the router profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
}

function usageOf(r: ChatResponse): Usage {
  return new Usage({
    requests: 1,
    inputTokens: r.usage?.inputTokens ?? 0,
    outputTokens: r.usage?.outputTokens ?? 0,
    totalTokens: r.usage?.totalTokens ?? 0,
  });
}

/** Which provider and model answered (and which deployment, when the router says). */
function providerData(r: ChatResponse): Record<string, string> {
  const deployment = (r as { deployment?: unknown }).deployment;
  return {
    provider: r.provider,
    model: r.model,
    ...(typeof deployment === 'string' ? { deployment } : {}),
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
    private readonly options: AgentsModelProviderOptions,
  ) {}

  private callOptions(signal: AbortSignal | undefined): RouterCallOptions {
    return {
      ...(signal ? { signal } : {}),
      ...(this.options.deadlineMs !== undefined ? { deadlineMs: this.options.deadlineMs } : {}),
    };
  }

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const r = await this.router.chat(chatRequestFromModelRequest(request), this.callOptions(request.signal));
    return modelResponse(r);
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const chat = chatRequestFromModelRequest(request);
    let started = false;
    for await (const chunk of this.router.stream(chat, this.callOptions(request.signal))) {
      if (!started) {
        started = true;
        yield { type: 'response_started' };
      }
      if (chunk.type === 'text') yield { type: 'output_text_delta', delta: chunk.text };
      else if (chunk.type === 'finish') {
        const r = chunk.response;
        const usage = usageOf(r);
        yield {
          type: 'response_done',
          response: {
            id: r.id ?? 'breakwater',
            usage: {
              requests: 1,
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
 * `new Runner({ modelProvider: createAgentsModelProvider(router) })`. Every
 * agent's model calls go through the router, whatever its `model` name.
 */
export function createAgentsModelProvider(
  router: Router,
  options: AgentsModelProviderOptions = {},
): ModelProvider {
  const model = new RouterModel(router, options);
  return { getModel: () => model };
}
