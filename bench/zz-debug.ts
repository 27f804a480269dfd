import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createRouter, openaiProvider } from '../src/providers/index.js';
import { createClassifyingFetch } from '../src/failure/index.js';
const style = process.argv[2] ?? 'ms';
let tokens = 20, last = performance.now(), limited = 0;
const T0 = performance.now();
const log: string[] = [];
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => {
  const now = performance.now(); tokens = Math.min(20, tokens + (now - last) * 20 / 1000); last = now;
  if (tokens >= 1) { tokens -= 1; res.writeHead(200, {'content-type':'application/json'}); res.end(JSON.stringify({id:'x',object:'chat.completion',created:1,model:'m',choices:[{index:0,message:{role:'assistant',content:'ok'},finish_reason:'stop'}]})); return; }
  limited++; const w = Math.ceil((1 - tokens) * 1000 / 20);
  log.push(`${(now-T0).toFixed(0)} 429 wait ${w}`);
  res.writeHead(429, {'content-type':'application/json', ...(style==='ms'?{'retry-after-ms': String(w)}:{'retry-after':'1'})}); res.end('{"error":{"message":"x"}}');
});});
await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
const client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, fetch: createClassifyingFetch() });
const router = createRouter({ providers: [openaiProvider(client, { model: 'm' })], profile: 'llm', observer: { event: (e) => { if (e.type !== 'retry_scheduled') log.push(`${(performance.now()-T0).toFixed(0)} ${e.type} ${JSON.stringify((e as {retryAfterMs?: number}).retryAfterMs ?? '')}`); } } });
const gate = router.routes[0]!.policy.gate!;
let next = 0, done = 0, fails = 0;
const iv = setInterval(() => log.push(`${(performance.now()-T0).toFixed(0)} done=${done} rate=${gate.pacedRatePerSecond?.toFixed(2)} queued=${gate.queued} inflight=${gate.inFlight} p=${JSON.stringify((gate as unknown as {pacing: unknown}).pacing)}`), 500);
await Promise.all(Array.from({length: 20}, async () => { while (next < 200) { next++; try { await router.chat({ messages: [{ role: 'user', content: 'x' }] }); done++; } catch (e) { fails++; log.push('FAIL ' + String(e)); } } }));
clearInterval(iv);
console.log(log.join('\n'));
console.log('wall', ((performance.now() - T0)/1000).toFixed(2), 'limited', limited, 'fails', fails);
server.closeAllConnections(); server.close();
