/** Latency statistics and machine description for benchmark reports. */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i];
}

export interface LoadResult {
  label: string;
  concurrency: number;
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  perSecond: number;
}

/** Runs `task` `total` times with `concurrency` workers; records each latency in ms. */
export async function runLoad(label: string, concurrency: number, total: number, task: () => Promise<unknown>): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      const t0 = performance.now();
      await task();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { label, concurrency, requests: total, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: total / seconds };
}

/**
 * Runs `task` with `concurrency` workers, each calling it again as soon as it returns, until
 * `seconds` have passed (calls already started finish). `i` counts calls across workers. Returns
 * the wall-clock seconds taken.
 */
export async function runFor(concurrency: number, seconds: number, task: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await task(i++);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Calls `call(i)` from `concurrency` closed-loop workers for `seconds`: each call's latency in ms (sorted) and the seconds the run took. */
export async function timeCallsFor(concurrency: number, seconds: number, call: (i: number) => Promise<unknown>): Promise<{ seconds: number; latency: number[] }> {
  const latency: number[] = [];
  const elapsed = await runFor(concurrency, seconds, async (i) => {
    const t0 = performance.now();
    await call(i);
    latency.push(performance.now() - t0);
  });
  return { seconds: elapsed, latency: latency.sort((a, b) => a - b) };
}

export function machine(): string {
  const require = createRequire(import.meta.url);
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  return `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}, onnxruntime-node ${ortVersion}`;
}

export function table(rows: LoadResult[], baseline?: (r: LoadResult) => LoadResult | undefined): string {
  const lines = ['| path | concurrency | p50 ms | p99 ms | req/s | added p50 ms |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const b = baseline?.(r);
    const added = b && b !== r ? (r.p50 - b.p50).toFixed(3) : '—';
    lines.push(`| ${r.label} | ${r.concurrency} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.perSecond.toFixed(0)} | ${added} |`);
  }
  return lines.join('\n');
}

/** CPU seconds a process has used so far, its main thread apart from its other threads (Linux /proc; undefined elsewhere). */
export function processCpu(pid: number): { main: number; others: number } | undefined {
  try {
    const tick = 0.01; // USER_HZ = 100 on Linux
    let main = 0;
    let others = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // the thread ended meanwhile
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) * tick; // utime + stime
      if (tid === String(pid)) main += seconds;
      else others += seconds;
    }
    return { main, others };
  } catch {
    return undefined;
  }
}
