/**
 * Not part of the example: local stand-ins for the two providers, so that it
 * runs offline through the real `openai` and `@anthropic-ai/sdk` clients.
 * OpenAI answers 429 with a ten-minute Retry-After; Anthropic answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startModelStandIns() {
  let openaiRequests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/openai/')) {
        openaiRequests++;
        res.writeHead(429, { 'retry-after': '600' }).end('{"error":{"message":"rate limited"}}');
        return;
      }
      res.writeHead(200).end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-haiku-4-5',
          content: [{ type: 'text', text: 'Air scatters short blue wavelengths more than long red ones.' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 14, output_tokens: 12 },
        }),
      );
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    openai: { baseURL: `${base}/openai/v1`, apiKey: 'sk-stand-in' },
    anthropic: { baseURL: `${base}/anthropic`, apiKey: 'sk-ant-stand-in' },
    openaiRequests: () => openaiRequests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
