/**
 * Soak test (not in CI): `npm run soak` (SOAK_SECONDS, default 600). Starts seqserve in its own
 * process, measures each load's capacity alone for a few seconds (chat completions streamed over SSE,
 * real-time speech streams over gRPC, KServe infers of the slot tagger over HTTP), then drives all
 * three together on loopback at ~80 % of capacity in total (30 % chat, 30 % speech, 20 % KServe) for
 * the whole duration. Reports error counts, p50/p99 latencies and the server's RSS every 30 s.
 * Traffic goes to 127.0.0.1 only, and every loop is bounded in time.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { loadProto } from '../server/grpc/load-proto.ts';
import { slotTaggerInputs } from '../test/helpers/slot-features.ts';
import { spawnServer } from './spawn-server.ts';
import { machine, percentile, runFor } from './stats.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CALIBRATE_SECONDS = Number(process.env.SOAK_CALIBRATE_SECONDS ?? 8);
const PROMPTS = [
  'i want to fly from taipei to tokyo on march 3rd',
  'book a flight to boston for tomorrow morning',
  'hello',
  'can you change my booking to friday',
  'thanks, goodbye',
];

const server = await spawnServer(['--providers', 'cpu']);
const http = `http://127.0.0.1:${server.httpPort}`;
const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
const speech = new pkg.google.cloud.speech.v1.Speech(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
const clips = readdirSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample'))
  .filter((f) => f.endsWith('.wav'))
  .sort()
  .map((f) => readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', f)).subarray(44)); // 16 kHz 16-bit mono PCM
const inputs = slotTaggerInputs('i would like to fly from boston to denver on monday');
const inferBody = JSON.stringify({ inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, data: i.data })) });

interface Stats {
  latencies: number[];
  ttft: number[];
  errors: number;
  done: number;
}
const fresh = (): Stats => ({ latencies: [], ttft: [], errors: 0, done: 0 });

async function chatOnce(s: Stats, i: number): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }], stream: true, temperature: 0 }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    let text = '';
    let first = 0;
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += r.value;
      if (!first && /"content":"[^"]/.test(text)) first = performance.now() - t0;
    }
    if (!text.includes('[DONE]')) throw new Error('stream ended early');
    s.ttft.push(first);
    s.latencies.push(performance.now() - t0);
    s.done++;
  } catch {
    s.errors++;
  }
}

async function inferOnce(s: Stats): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${http}/v2/models/slots/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    s.latencies.push(performance.now() - t0);
    s.done++;
  } catch {
    s.errors++;
  }
}

/** One recognition stream of a clip; `paced` sends 100 ms of audio every 100 ms, else as fast as the server takes it. Records interim latencies. */
function speechOnce(s: Stats, k: number, paced: boolean): Promise<number> {
  return new Promise((resolve) => {
    const clip = clips[k % clips.length];
    const call = speech.StreamingRecognize();
    const sentAt: number[] = [];
    call.on('data', (r: { results: { result_end_time?: { seconds: string; nanos: number } }[] }) => {
      const end = r.results[0]?.result_end_time;
      if (!end || !paced) return;
      const t = Number(end.seconds) + end.nanos / 1e9;
      const sent = sentAt[Math.min(sentAt.length - 1, Math.max(0, Math.ceil(t * 10) - 1))];
      if (sent !== undefined) s.latencies.push(performance.now() - sent);
    });
    call.on('error', () => (s.errors++, resolve(0)));
    call.on('end', () => (s.done++, resolve(clip.length / 32000)));
    call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, interim_results: true } });
    let at = 0;
    const send = () => {
      if (at >= clip.length) return void call.end();
      sentAt.push(performance.now());
      const ok = call.write({ audio_content: clip.subarray(at, at + 3200) });
      at += 3200;
      if (paced) setTimeout(send, 100);
      else if (ok) setImmediate(send);
      else call.once('drain', send);
    };
    send();
  });
}

/** Closed loop with `workers` workers for `seconds`: completed work per second (a call's result, or 1). */
async function closedLoop(workers: number, seconds: number, once: (i: number) => Promise<number | void>): Promise<number> {
  let units = 0;
  await runFor(workers, seconds, async (i) => {
    const done = await once(i); // (not `units += await ...`: that reads units before the await)
    units += done ?? 1;
  });
  return units / seconds;
}

/** Open loop: Poisson arrivals at `rate` per second for `seconds` (at most `cap` outstanding; the rest count as dropped). */
async function openLoop(rate: number, seconds: number, cap: number, once: (i: number) => Promise<void>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  const running = new Set<Promise<void>>();
  let dropped = 0;
  let i = 0;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, -Math.log(1 - Math.random()) * (1000 / rate)));
    if (running.size >= cap) {
      dropped++;
      continue;
    }
    const p = once(i++).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
  return dropped;
}

function rssMb(): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

try {
  // capacity of each load alone
  const chatCap = await closedLoop(32, CALIBRATE_SECONDS, (i) => chatOnce(fresh(), i));
  const inferCap = await closedLoop(8, CALIBRATE_SECONDS, () => inferOnce(fresh()));
  const speechCap = await closedLoop(32, CALIBRATE_SECONDS, (k) => speechOnce(fresh(), k, false)); // audio seconds per second = real-time streams
  const chatRate = 0.3 * chatCap;
  const inferRate = 0.2 * inferCap;
  const speechStreams = Math.max(1, Math.floor(0.3 * speechCap));
  process.stderr.write(
    `capacity alone: chat ${chatCap.toFixed(1)} req/s, KServe ${inferCap.toFixed(0)} infer/s, speech ${speechCap.toFixed(0)} real-time streams; soak: chat ${chatRate.toFixed(1)}/s, KServe ${inferRate.toFixed(0)}/s, ${speechStreams} speech streams for ${SECONDS} s\n`,
  );

  const chat = fresh();
  const kserve = fresh();
  const asr = fresh();
  const rss: [number, number][] = [[0, rssMb()]];
  const t0 = performance.now();
  const sampler = setInterval(() => rss.push([Math.round((performance.now() - t0) / 1000), rssMb()]), 30_000);
  const speechEnd = t0 + SECONDS * 1000;
  const [chatDropped, inferDropped] = await Promise.all([
    openLoop(chatRate, SECONDS, 256, (i) => chatOnce(chat, i)),
    openLoop(inferRate, SECONDS, 256, () => inferOnce(kserve)),
    Promise.all(
      Array.from({ length: speechStreams }, async (_, k) => {
        await new Promise((r) => setTimeout(r, Math.random() * 1000));
        for (let n = k; performance.now() < speechEnd; n += speechStreams) await speechOnce(asr, n, true);
      }),
    ),
  ]);
  clearInterval(sampler);
  rss.push([Math.round((performance.now() - t0) / 1000), rssMb()]);
  const row = (name: string, s: Stats, unit: string, extra = '') => {
    s.latencies.sort((a, b) => a - b);
    return `| ${name} | ${s.done} | ${s.errors} | ${percentile(s.latencies, 50).toFixed(1)} | ${percentile(s.latencies, 99).toFixed(1)} | ${unit}${extra} |`;
  };
  chat.ttft.sort((a, b) => a - b);
  const lines = [
    `## Soak test (${new Date().toISOString().slice(0, 16)}Z, ${SECONDS} s)`,
    '',
    `Machine: ${machine()}; load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
    `Capacity alone (${CALIBRATE_SECONDS} s each): chat ${chatCap.toFixed(1)} streamed completions/s (32 clients), KServe ${inferCap.toFixed(0)} infers/s (8 clients), speech ${speechCap.toFixed(0)} s of audio per s (32 streams, unpaced).`,
    `Soak load (~80 % in total): chat ${chatRate.toFixed(1)}/s and KServe ${inferRate.toFixed(0)}/s (Poisson arrivals; ${chatDropped + inferDropped} not sent because 256 were outstanding), ${speechStreams} real-time speech streams.`,
    '',
    '| load | completed | errors | p50 ms | p99 ms | latency of |',
    '|---|---:|---:|---:|---:|---|',
    row('chat (SSE)', chat, 'whole reply', `; first token p50 ${percentile(chat.ttft, 50).toFixed(1)}, p99 ${percentile(chat.ttft, 99).toFixed(1)}`),
    row('KServe infer (HTTP)', kserve, 'request'),
    row('speech (gRPC, real time)', asr, 'interim result after its audio was sent'),
    '',
    `Server RSS (MB) by second: ${rss.map(([t, mb]) => `${t}: ${mb.toFixed(0)}`).join(', ')}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  speech.close();
  await server.stop();
}
