import type { Router, RouterCallOptions } from '../../providers/router.js';
import { either } from '../../providers/stream-attempt.js';
import { toolArgumentsText } from '../../providers/tools.js';
import type { ChatChunk, ChatResponse, FinishReason, Usage } from '../../providers/types.js';
import { chatRequestFromPrompt } from './prompt-to-chat.js';
import type {
  AiSdkCallOptionsRead,
  AiSdkContent,
  AiSdkFinishReason,
  AiSdkGenerateResult,
  AiSdkProviderMetadata,
  AiSdkStreamPart,
  AiSdkStreamResult,
  AiSdkUsage,
  AiSdkWarning,
} from './spec.js';

export interface RouterModelOptions {
  /** The router's model group that serves this model. Default: the router's `defaultGroup`. */
  readonly group?: string | undefined;
  /** The model id the AI SDK reports (telemetry, `response.modelId` until a deployment answers). Default: the group, else `router`. */
  readonly modelId?: string | undefined;
  /** Time for each model call (every deployment and wait included). Default: the router profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
}

/**
 * The router as an AI SDK language model (specification v3, which ai@6 and
 * ai@7 both take): `generateText` / `streamText` and their tool loops get the
 * router's deployments, failover, breakers and cooldowns on every step.
 */
export interface RouterLanguageModel {
  readonly specificationVersion: 'v3';
  readonly provider: 'breakwater';
  readonly modelId: string;
  /** None: a URL is downloaded by the AI SDK and then refused as a file part (the neutral chat carries text). */
  readonly supportedUrls: Record<string, RegExp[]>;
  doGenerate(options: AiSdkCallOptionsRead): Promise<AiSdkGenerateResult>;
  doStream(options: AiSdkCallOptionsRead): Promise<AiSdkStreamResult>;
}

const FINISH: Record<FinishReason, AiSdkFinishReason['unified']> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  content_filter: 'content-filter',
  refusal: 'content-filter',
  other: 'other',
};

function finishReason(reason: FinishReason): AiSdkFinishReason {
  return { unified: FINISH[reason], raw: reason };
}

function usageOf(u: Usage | undefined): AiSdkUsage {
  return {
    inputTokens: { total: u?.inputTokens, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: u?.outputTokens, text: undefined, reasoning: undefined },
  };
}

/** Which deployment, provider and model answered, for `result.providerMetadata.breakwater`. */
function metadata(r: ChatResponse): AiSdkProviderMetadata {
  return {
    breakwater: {
      provider: r.provider,
      model: r.model,
      ...(r.deployment !== undefined ? { deployment: r.deployment } : {}),
    },
  };
}

function content(r: ChatResponse): AiSdkContent[] {
  const out: AiSdkContent[] = [];
  if (r.message.content !== '') out.push({ type: 'text', text: r.message.content });
  for (const c of r.toolCalls)
    out.push({ type: 'tool-call', toolCallId: c.id, toolName: c.name, input: toolArgumentsText(c) });
  return out;
}

/** Neutral chunks as AI SDK stream parts: text and tool-call input as they come, whole tool calls and `finish` at the end. */
class PartMapper {
  private textOpen = false;
  private readonly toolIds: string[] = [];

  map(chunk: ChatChunk): AiSdkStreamPart[] {
    switch (chunk.type) {
      case 'text': {
        const parts: AiSdkStreamPart[] = [];
        if (!this.textOpen) {
          this.textOpen = true;
          parts.push({ type: 'text-start', id: 'text-0' });
        }
        parts.push({ type: 'text-delta', id: 'text-0', delta: chunk.text });
        return parts;
      }
      case 'tool_call_start':
        this.toolIds[chunk.index] = chunk.id;
        return [{ type: 'tool-input-start', id: chunk.id, toolName: chunk.name }];
      case 'tool_call_delta': {
        const id = this.toolIds[chunk.index];
        return id === undefined ? [] : [{ type: 'tool-input-delta', id, delta: chunk.argumentsDelta }];
      }
      case 'usage':
        return [];
      case 'finish': {
        const r = chunk.response;
        const parts: AiSdkStreamPart[] = [];
        if (this.textOpen) parts.push({ type: 'text-end', id: 'text-0' });
        for (const id of this.toolIds) if (id !== undefined) parts.push({ type: 'tool-input-end', id });
        for (const c of r.toolCalls)
          parts.push({ type: 'tool-call', toolCallId: c.id, toolName: c.name, input: toolArgumentsText(c) });
        parts.push({
          type: 'response-metadata',
          ...(r.id !== undefined ? { id: r.id } : {}),
          modelId: r.model,
        });
        parts.push({
          type: 'finish',
          usage: usageOf(r.usage),
          finishReason: finishReason(chunk.finishReason),
          providerMetadata: metadata(r),
        });
        return parts;
      }
    }
  }
}

/**
 * The router as an AI SDK language model. Each `doGenerate` is one
 * `router.chat`, each `doStream` one `router.stream`: a failing deployment is
 * retried or left for the next before the AI SDK sees anything, so a tool
 * loop can fail over between any two steps (the conversation is neutral, so
 * the next deployment may be another vendor's).
 *
 * Errors are breakwater errors (`AllProvidersFailedError`, the caller's
 * `CancelledError`, `InvalidInputError` for a prompt part the router cannot
 * carry), which the AI SDK never retries: only its `APICallError` is retried.
 * `maxRetries: 0` on `generateText` / `streamText` makes that explicit.
 *
 * `doStream` resolves once the first chunk has arrived, so a failure before
 * it rejects the call (and fails over inside the router); a failure after it
 * is an `error` part holding `StreamInterruptedError`, as providers report a
 * broken stream.
 */
export function createRouterModel(router: Router, options: RouterModelOptions = {}): RouterLanguageModel {
  const callOptions = (signal: AbortSignal | undefined): RouterCallOptions => ({
    ...(signal ? { signal } : {}),
    ...(options.group !== undefined ? { group: options.group } : {}),
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
  });
  return {
    specificationVersion: 'v3',
    provider: 'breakwater',
    modelId: options.modelId ?? options.group ?? 'router',
    supportedUrls: {},

    async doGenerate(params) {
      const { request, warnings } = chatRequestFromPrompt(params);
      const r = await router.chat(request, callOptions(params.abortSignal));
      return {
        content: content(r),
        finishReason: finishReason(r.finishReason),
        usage: usageOf(r.usage),
        providerMetadata: metadata(r),
        response: { ...(r.id !== undefined ? { id: r.id } : {}), modelId: r.model },
        warnings,
      };
    },

    async doStream(params) {
      const { request, warnings } = chatRequestFromPrompt(params);
      // The reader's cancel aborts through this: an async generator's `return()` waits behind a
      // pending `next()`, so on a stalled stream it alone would neither close the request nor return.
      const stop = new AbortController();
      const signal = params.abortSignal ? either(params.abortSignal, stop.signal) : stop.signal;
      const iterator = router.stream(request, callOptions(signal))[Symbol.asyncIterator]();
      // Routing, retries and failover happen here, before the AI SDK holds a stream.
      const first = await iterator.next();
      return { stream: partStream(iterator, first, warnings, stop) };
    },
  };
}

function partStream(
  iterator: AsyncIterator<ChatChunk, void, undefined>,
  first: IteratorResult<ChatChunk, void>,
  warnings: AiSdkWarning[],
  stop: AbortController,
): ReadableStream<AiSdkStreamPart> {
  let cancelled = false;
  const mapper = new PartMapper();
  let next: IteratorResult<ChatChunk, void> | undefined = first;
  return new ReadableStream<AiSdkStreamPart>({
    start(controller) {
      controller.enqueue({ type: 'stream-start', warnings });
    },
    async pull(controller) {
      try {
        // A chunk with no part of its own (usage) must not end a pull empty-handed: the reader would wait forever.
        for (;;) {
          const current = next ?? (await iterator.next());
          next = undefined;
          if (current.done) {
            controller.close();
            return;
          }
          const parts = mapper.map(current.value);
          for (const part of parts) controller.enqueue(part);
          if (parts.length > 0) return;
        }
      } catch (error) {
        // After the reader's cancel, the read it abandoned ends here: there is no one to tell.
        if (cancelled) return;
        controller.enqueue({ type: 'error', error });
        controller.close();
      }
    },
    async cancel() {
      // The reader stopped: aborting ends a read in progress and the request in flight at once;
      // ending the router's stream then releases it.
      cancelled = true;
      stop.abort();
      await iterator.return?.().catch(() => undefined);
    },
  });
}
