/** `npm run bench`: runs the benchmarks side by side on this machine and prints Markdown. BENCH_ONLY=kserve|batching|speech|chat|loop|caption|wasm|page|endpointing|audio-embed picks one. */
import { benchWasmVsNative } from './wasm-vs-native.ts';
import { benchInPage } from './in-page.ts';
import { benchCaptionQa } from './caption-qa.ts';
import { benchChatStreams } from './chat-streams.ts';
import { benchKserveSlots } from './kserve-slots.ts';
import { benchKserveBatching } from './kserve-batching.ts';
import { benchEventLoop } from './event-loop.ts';
import { benchSpeechStreams } from './speech-streams.ts';
import { benchEndpointing } from './endpointing.ts';
import { benchAudioEmbed } from './audio-embed.ts';
import { machine } from './stats.ts';

const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const only = process.env.BENCH_ONLY;
const sections: string[] = [];
if (!only || only === 'kserve') sections.push(await benchKserveSlots(requests, seconds));
if (!only || only === 'batching') sections.push(await benchKserveBatching(requests, seconds));
if (!only || only === 'speech') sections.push(await benchSpeechStreams());
if (!only || only === 'chat') sections.push(await benchChatStreams());
if (!only || only === 'loop') sections.push(await benchEventLoop());
if (!only || only === 'caption') sections.push(await benchCaptionQa());
if (!only || only === 'wasm') sections.push(await benchWasmVsNative());
if (!only || only === 'page') sections.push(await benchInPage());
if (!only || only === 'endpointing') sections.push(await benchEndpointing());
if (!only || only === 'audio-embed') sections.push(await benchAudioEmbed());
process.stdout.write(`## seqserve benchmark (${new Date().toISOString().slice(0, 10)})\n\nMachine: ${machine()}\n\n${sections.join('\n\n')}\n`);
