import { rateLimitBench } from './rate-limit.js';
const r = await rateLimitBench();
console.log(r.text);
