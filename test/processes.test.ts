/**
 * `--processes 2` (issue 18, "several processes on one machine") with the real CLI: both workers serve
 * the same HTTP and gRPC ports; `kill -9` of one worker under load leaves every request answered by
 * the other (a request caught on the killed worker's connection sees the connection closed and is
 * retried, as a client would), the primary logs the death and the replacement's readiness, /metrics
 * counts the restart; both workers killed at once are both replaced; and SIGTERM to the primary
 * stops everything with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { loadProto } from '../server/grpc/load-proto.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
let models: string;
let proc: ChildProcess | undefined;

beforeAll(() => {
  models = mkdtempSync(path.join(tmpdir(), 'seqserve-processes-'));
  cpSync(path.join(BUNDLED_MODELS_DIR, 'slots'), path.join(models, 'slots'), { recursive: true });
});
afterAll(() => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL'); // a failed test must not leave the server running
  rmSync(models, { recursive: true, force: true });
});

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

type Entry = Record<string, unknown> & { msg?: string };

const pkg = loadProto('kserve/grpc_service.proto') as any;
/** KServe ServerReady over a channel of its own (its own connection, so the primary may give it to either worker). */
const grpcReady = (address: string): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const client = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    client.ServerReady({}, { deadline: Date.now() + 10_000 }, (err: Error | null, res: { ready: boolean }) => (client.close(), err ? reject(err) : resolve(res.ready)));
  });

/** The pid of the process that answered a scrape on a fresh connection, and its restart count. */
async function scrape(http: string): Promise<{ pid: number; restarts: number }> {
  const text = await (await fetch(`${http}/metrics`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(10_000) })).text();
  return { pid: Number(/^seqserve_process_info\{pid="(\d+)"/m.exec(text)?.[1]), restarts: Number(/^seqserve_process_restarts_total (\S+)$/m.exec(text)?.[1]) };
}

describe('--processes 2', () => {
  it('serves one pair of ports from two workers, replaces a worker killed under load, and stops on SIGTERM', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const http = `http://127.0.0.1:${httpPort}`;
    const grpc = `127.0.0.1:${grpcPort}`;
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'seqserve.js'),
        'serve',
        '--processes',
        '2',
        '--models',
        models,
        '--host',
        '127.0.0.1',
        '--http-port',
        String(httpPort),
        '--grpc-port',
        String(grpcPort),
        '--providers',
        'cpu',
        '--shutdown-grace',
        '5',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    proc = child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const logs: Entry[] = [];
    const waiters: { test: (e: Entry) => boolean; resolve: (e: Entry) => void }[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        return; // not a log line
      }
      logs.push(entry);
      for (const w of [...waiters]) if (w.test(entry)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(entry));
    });
    const logged = (test: (e: Entry) => boolean, what: string, ms = 20_000): Promise<Entry> =>
      new Promise((resolve, reject) => {
        const found = logs.find(test);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`not logged within ${ms} ms: ${what}`)), ms);
        waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
        void exited.then((code) => reject(new Error(`server exited with ${code} before: ${what}`)));
      });

    // ready: the primary's line names both workers
    const listening = await logged((e) => e.role === 'primary' && Array.isArray(e.workerPids) && e.httpPort === httpPort, 'all workers ready');
    expect(listening.grpcPort).toBe(grpcPort);
    const pids = listening.workerPids as number[];
    expect(pids).toHaveLength(2);
    // both workers answer on the one HTTP port (each fresh connection goes to the next worker)
    const seen = new Set<number>();
    for (let i = 0; i < 10 && seen.size < 2; i++) seen.add((await scrape(http)).pid);
    expect([...seen].sort()).toEqual([...pids].sort());
    // gRPC on the one gRPC port
    expect(await Promise.all([1, 2, 3, 4].map(() => grpcReady(grpc)))).toEqual([true, true, true, true]);

    // 300 slot-filling requests, 8 at a time; one worker is killed after the first 60
    const victim = pids[0];
    let done = 0;
    let retried = 0;
    const statuses: number[] = [];
    const slots = async (): Promise<number> => {
      const send = () =>
        fetch(`${http}/v1/slots`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'I would like to arrive Taipei on November 2nd' }),
          signal: AbortSignal.timeout(10_000),
        });
      let res: Response | undefined;
      for (let attempt = 1; !res; attempt++) {
        try {
          res = await send();
        } catch (err) {
          if (attempt === 3) throw err;
          retried++; // the connection was on the killed worker: closed under the request
        }
      }
      await res.json();
      return res.status;
    };
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 300) {
          next++;
          statuses.push(await slots());
          if (++done === 60) process.kill(victim, 'SIGKILL');
        }
      }),
    );
    const loadMs = Date.now() - started;
    expect(statuses).toHaveLength(300);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(retried).toBeLessThanOrEqual(16); // about the requests in flight on the killed worker when it died
    // the primary saw the death and started a replacement, which became ready
    const died = await logged((e) => e.role === 'primary' && e.workerPid === victim && e.signal === 'SIGKILL', 'worker death');
    expect(died.restarts).toBe(1);
    const replaced = await logged((e) => e.role === 'primary' && e.replaces === victim, 'replacement ready');
    const replacement = replaced.workerPid as number;
    expect(pids).not.toContain(replacement);
    // /metrics: each worker (the survivor and the replacement) reports the restart
    const after = new Map<number, number>();
    for (let i = 0; i < 10 && after.size < 2; i++) {
      const s = await scrape(http);
      after.set(s.pid, s.restarts);
    }
    expect(Object.fromEntries(after)).toEqual({ [pids[1]]: 1, [replacement]: 1 });
    expect(await grpcReady(grpc)).toBe(true);

    // both workers killed at once: the primary replaces both (and survives telling the dead the count)
    const [second, third] = [pids[1], replacement];
    process.kill(second, 'SIGKILL');
    process.kill(third, 'SIGKILL');
    const [r2, r3] = await Promise.all([second, third].map((pid) => logged((e) => e.role === 'primary' && e.replaces === pid, `replacement of ${pid} ready`)));
    const current = [r2.workerPid as number, r3.workerPid as number];
    expect((await scrape(http)).restarts).toBe(3);
    expect(await grpcReady(grpc)).toBe(true);

    // SIGTERM to the primary: every worker shuts down gracefully, the primary exits 0
    const stopAt = Date.now();
    child.kill('SIGTERM');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))])).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(logs.some((e) => e.role === 'primary' && e.msg === 'all worker processes have exited')).toBe(true);
    expect(
      logs
        .filter((e) => e.role !== 'primary' && e.signal === 'SIGTERM' && String(e.msg).startsWith('shutting down'))
        .map((e) => e.pid)
        .sort(),
    ).toEqual(current.sort());
    console.log(`300 requests in ${loadMs} ms, ${retried} retried after the kill`);
  }, 60_000);
});
