import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import { type HeadersHook, reportHeaders } from '../../providers/response-headers.js';
import type { Provider } from '../../providers/types.js';
import { toAiSdkCallOptions } from './chat-to-prompt.js';
import { guardModelCall } from './failures.js';
import { fromAiSdkResult, fromAiSdkStream } from './from-model.js';
import type { AiSdkCallOptions, AiSdkLanguageModel } from './spec.js';

export interface AiSdkProviderOptions {
  /**
   * The provider's name in errors, telemetry and the router's deployment ids.
   * Default: the model's own `provider` (`openai.chat`, `anthropic.messages`).
   */
  readonly name?: string | undefined;
  /** This provider's policy profile, when it should differ from the router's. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
}

/**
 * Any AI SDK language model as a breakwater `Provider`, so that
 * `@ai-sdk/openai`, `@ai-sdk/anthropic`, Google, Bedrock, Azure, Mistral…
 * become router deployments beside the `openai` and `@anthropic-ai/sdk` ones.
 *
 * Each call is one `doGenerate` / `doStream`: the model's own methods, which
 * do not retry (the AI SDK retries in `generateText` / `streamText`, which are
 * not involved), so the router's policy is the only retry loop. The SDK's
 * `APICallError` is classified like the SDK clients' errors (status,
 * Retry-After, the provider's error code), and a failure before any request
 * was written is proven `not_sent`. The response headers (an error's too)
 * reach `onHeaders`, so a deployment's quota reads the rate-limit headers.
 */
/**
 * Awaits a model call, reporting its response headers (or its
 * `APICallError`'s `responseHeaders`) to `onHeaders` when given: the
 * rate-limit headers a deployment's quota reads.
 */
async function withHeaders<T extends { readonly response?: { readonly headers?: unknown } }>(
  call: () => PromiseLike<T>,
  onHeaders: HeadersHook | undefined,
): Promise<T> {
  if (onHeaders === undefined) return await call();
  try {
    const result = await call();
    reportHeaders(onHeaders, result.response?.headers);
    return result;
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'responseHeaders' in err)
      reportHeaders(onHeaders, (err as { responseHeaders: unknown }).responseHeaders);
    throw err;
  }
}

export function createAiSdkProvider(model: AiSdkLanguageModel, options: AiSdkProviderOptions = {}): Provider {
  const name = options.name ?? model.provider;
  const modelId = model.modelId;
  const dependency = `${name}/${modelId}`;
  return {
    name,
    model: modelId,
    profile: options.profile,
    async chat(request, callOptions = {}) {
      const params: AiSdkCallOptions = { ...toAiSdkCallOptions(request) };
      if (callOptions.signal) params.abortSignal = callOptions.signal;
      const raw = await guardModelCall(dependency, callOptions.signal, () =>
        withHeaders(() => model.doGenerate(params), callOptions.onHeaders),
      );
      return fromAiSdkResult(raw, name, modelId, dependency);
    },
    async *stream(request, callOptions = {}) {
      const params: AiSdkCallOptions = { ...toAiSdkCallOptions(request) };
      if (callOptions.signal) params.abortSignal = callOptions.signal;
      const { stream } = await guardModelCall(dependency, callOptions.signal, () =>
        withHeaders(() => model.doStream(params), callOptions.onHeaders),
      );
      yield* fromAiSdkStream(stream, name, modelId, dependency, callOptions.signal);
    },
  };
}
