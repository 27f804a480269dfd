import os from 'node:os';
import { overheadBench } from './overhead.js';

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `breakwater benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${cpu}\n`,
);
console.log('## Happy-path overhead per call (async no-op)\n');
const overhead = await overheadBench();
console.log(overhead.text);
