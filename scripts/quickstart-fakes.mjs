// Local stand-ins for what the README's quick starts call, loaded with
// `node --import ./fakes.mjs quickstart-N.mjs`: the payment API and the
// inventory API (reached by rewriting their hosts in globalThis.fetch), OpenAI
// answering 429 with a Retry-After longer than any deadline (so the router
// fails over at once) and Anthropic answering. Nothing leaves the machine.
import { createServer } from 'node:http';

const counts = { charges: 0, stock: 0, openai: 0, anthropic: 0 };

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/payments.example/v1/charges') {
      counts.charges++;
      return send(res, 200, { id: `ch_${counts.charges}`, status: 'succeeded' });
    }
    if (url === '/inventory.internal/stock/42') {
      counts.stock++;
      return send(res, 200, { available: 7 });
    }
    if (url.startsWith('/openai/')) {
      counts.openai++;
      return send(
        res,
        429,
        { error: { message: 'rate limited', type: 'rate_limit_error' } },
        { 'retry-after': '600' },
      );
    }
    if (url.startsWith('/anthropic/')) {
      counts.anthropic++;
      return send(res, 200, {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [{ type: 'text', text: 'Rayleigh scattering favors blue light.' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 8 },
      });
    }
    send(res, 404, { error: `no fake for ${req.method} ${url}` });
  });
});
await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
server.unref();
const base = `http://127.0.0.1:${server.address().port}`;

process.env.OPENAI_BASE_URL = `${base}/openai/v1`;
process.env.OPENAI_API_KEY = 'sk-fake';
process.env.ANTHROPIC_BASE_URL = `${base}/anthropic`;
process.env.ANTHROPIC_API_KEY = 'sk-ant-fake';

const realFetch = globalThis.fetch;
const faked = new Set(['payments.example', 'inventory.internal']);
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (!faked.has(url.hostname)) return realFetch(input, init);
  const target = `${base}/${url.hostname}${url.pathname}${url.search}`;
  return typeof input === 'string' || input instanceof URL
    ? realFetch(target, init)
    : realFetch(new Request(target, input), init);
};

process.on('exit', () => console.log(`fakes: ${JSON.stringify(counts)}`));
