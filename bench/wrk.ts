/** Runs wrk (a C load generator, Debian package `wrk`) against a URL and parses its latency report. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LoadResult } from './stats.ts';

function ms(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v;
}

/**
 * `body`: one body for every request, or several sent in turn (one rotation shared by all
 * connections of wrk's one thread: texts of different lengths). `nice`: run wrk at that niceness (clients standing in for other
 * machines, see bench/event-loop.ts).
 */
export async function wrkLoad(
  label: string,
  url: string,
  body: Uint8Array | readonly Uint8Array[],
  headers: Record<string, string>,
  concurrency: number,
  seconds: number,
  nice?: number,
): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wrk-'));
  try {
    const bodies = body instanceof Uint8Array ? [body] : body;
    bodies.forEach((b, i) => writeFileSync(path.join(dir, `body-${i}`), b));
    const script = [
      'wrk.method = "POST"',
      ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
      'local bodies = {}',
      `for i = 0, ${bodies.length - 1} do local f = io.open("${path.join(dir, 'body-')}" .. i, "rb"); bodies[#bodies + 1] = f:read("*a"); f:close() end`,
      'wrk.body = bodies[1]',
      ...(bodies.length > 1 ? ['local n = 0', 'request = function() n = n % #bodies + 1; return wrk.format(nil, nil, nil, bodies[n]) end'] : []),
    ].join('\n');
    writeFileSync(path.join(dir, 'post.lua'), script);
    const args = ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', '-s', path.join(dir, 'post.lua'), url];
    const { stdout } = await promisify(execFile)(nice === undefined ? 'wrk' : 'nice', nice === undefined ? args : ['-n', String(nice), 'wrk', ...args]);
    const pct = (p: string) => {
      const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
      if (!m) throw new Error(`wrk output has no ${p}% line:\n${stdout}`);
      return ms(m[1], m[2]);
    };
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
    if (errors) throw new Error(`${label}: ${errors[1]} failed responses`);
    return { label, concurrency, requests, seconds, p50: pct('50'), p99: pct('99'), perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
