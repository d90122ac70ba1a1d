/**
 * The main thread's event-loop delay under mixed load: 32 chat streams (closed loop over SSE) and 16
 * KServe clients (wrk, slot tagger, JSON) at once against one server, with the models' runs and
 * scheduling loops in executor threads (the default) and on the main thread (`--executors off`).
 * The delay is the server's own `seqserve_event_loop_delay_seconds` (perf_hooks.monitorEventLoopDelay,
 * reset by each scrape): one scrape before the load, one after, so the quantiles cover the load.
 *
 * On this 2-core machine the load generators (wrk, and the chat clients on this process's thread) take
 * CPU that real clients on other machines would not. The rows "clients at nice 19" run them at the
 * lowest priority, so they use what the server leaves; the server's own settings are the same.
 */
import { getPriority, setPriority } from 'node:os';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { slotTaggerInputs } from '../test/helpers/slot-features.ts';
import { closedLoop } from './chat-streams.ts';
import { spawnServer } from './spawn-server.ts';
import { wrkLoad } from './wrk.ts';

async function loopDelay(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^seqserve_event_loop_delay_seconds\{quantile="([\d.]+)"\} ([\d.e+-]+)$/gm)) out[m[1]] = Number(m[2]) * 1000;
  return out;
}

export async function benchEventLoop(seconds = Number(process.env.BENCH_LOOP_SECONDS ?? 10)): Promise<string> {
  const body = new TextEncoder().encode(JSON.stringify({ inputs: slotTaggerInputs('I would like to arrive Taipei on November 2nd') }));
  const rows: string[] = [];
  const configs: [label: string, serverArgs: string[], clientNice?: number][] = [
    ['executor threads (default)', []],
    ['main thread (`--executors off`)', ['--executors', 'off']],
    ['executor threads, clients at nice 19', [], 19],
    ['executor threads (`--executor-nice 19`), clients at nice 19', ['--executor-nice', '19'], 19],
  ];
  // lowering this thread's priority and raising it back needs CAP_SYS_NICE (root): without it the
  // nice rows are left out (the next server spawned would inherit the lowered priority)
  const mayRenice = process.getuid?.() === 0;
  const skipped = configs.filter(([, , nice]) => nice !== undefined && !mayRenice).map(([label]) => label);
  for (const [label, extra, clientNice] of configs) {
    if (skipped.includes(label)) continue;
    const server = await spawnServer(['--providers', 'cpu', '--intra-op-threads', '1', '--models', BUNDLED_MODELS_DIR, ...extra]);
    const url = `http://127.0.0.1:${server.httpPort}`;
    try {
      await closedLoop(url, 4, 1, 'warm-up');
      await loopDelay(url); // resets the histogram
      const before = getPriority();
      if (clientNice !== undefined) setPriority(clientNice); // this thread runs the chat clients (Linux: the calling thread only)
      let chat, kserve;
      try {
        [chat, kserve] = await Promise.all([
          closedLoop(url, 32, seconds, label),
          wrkLoad('kserve', `${url}/v2/models/slots/infer`, body, { 'content-type': 'application/json' }, 16, seconds, clientNice),
        ]);
      } finally {
        if (clientNice !== undefined) setPriority(before); // back, before the next server is spawned from this thread
      }
      const d = await loopDelay(url);
      const f = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(1));
      rows.push(
        `| ${label} | ${f(d['0.5'])} | ${f(d['0.99'])} | ${f(d['1'])} | ${Math.round(chat.tokens / chat.seconds).toLocaleString('en-US')} | ${Math.round(kserve.perSecond).toLocaleString('en-US')} | ${kserve.p50.toFixed(1)} / ${kserve.p99.toFixed(1)} |`,
      );
    } finally {
      await server.stop();
    }
  }
  return [
    `### Event-loop delay under mixed load (32 chat streams + 16 KServe clients, ${seconds} s)`,
    '',
    '| where models run | loop delay p50 ms | p99 ms | max ms | chat tokens/s | KServe req/s | KServe p50 / p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...(skipped.length ? ['', `Not run (needs root to restore this thread's priority): ${skipped.join('; ')}.`] : []),
  ].join('\n');
}
