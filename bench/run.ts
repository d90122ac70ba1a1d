/** `npm run bench`: runs every benchmark side by side on this machine and prints Markdown. */
import { benchKserveSlots } from './kserve-slots.ts';
import { machine } from './stats.ts';

const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const sections = [await benchKserveSlots(requests, seconds)];
process.stdout.write(`## seqserve benchmark (${new Date().toISOString().slice(0, 10)})\n\nMachine: ${machine()}\n\n${sections.join('\n\n')}\n`);
