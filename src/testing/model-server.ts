/**
 * What the fake OpenAI and the fake Anthropic share: a scripted server that
 * answers scripted turns in its wire format, then echoes, with the format's
 * own answers to faults.
 */
import {
  FakeHttpServer,
  type FakeHttpServerOptions,
  type FakeReply,
  type FaultReplies,
  type RecordedRequest,
} from './scripted-server.js';
import { echoTurn, resolveTurn, type ScriptedTurn, type Turn } from './turns.js';

export interface FakeModelOptions extends FakeHttpServerOptions {
  /** Turns for the first requests, in order (more with `script`); then `fallback`. */
  readonly turns?: readonly ScriptedTurn[];
  /** The answer once the script is used up. Default: echo the last user message. */
  readonly fallback?: ScriptedTurn;
}

/** A fake model server: the scripted server, its SDK base URL, and scripted turns. */
export interface FakeModel extends FakeHttpServer {
  /** What to pass the SDK client as `baseURL`. */
  readonly baseURL: string;
  /** Appends turns to the script: each answers one request, JSON or stream as the request asks. */
  script(...turns: ScriptedTurn[]): this;
}

export interface ModelFormat {
  readonly faults: FaultReplies;
  baseURL(url: string): string;
  turn(turn: Turn, request: RecordedRequest): FakeReply;
  /** The answer to a request for another route; undefined for the model route. */
  notFound(request: RecordedRequest): FakeReply | undefined;
}

export async function startFakeModel(format: ModelFormat, options: FakeModelOptions): Promise<FakeModel> {
  const fallback = options.fallback ?? echoTurn;
  const server = await FakeHttpServer.start(
    (r) => format.notFound(r) ?? format.turn(resolveTurn(fallback, r), r),
    format.faults,
    options,
  );
  const toReply = (turn: ScriptedTurn) => (r: RecordedRequest) =>
    format.notFound(r) ?? format.turn(resolveTurn(turn, r), r);
  const model: FakeModel = Object.assign(server, {
    baseURL: format.baseURL(server.url),
    script(this: FakeModel, ...turns: ScriptedTurn[]) {
      server.enqueue(...turns.map(toReply));
      return this;
    },
  });
  return model.script(...(options.turns ?? []));
}
