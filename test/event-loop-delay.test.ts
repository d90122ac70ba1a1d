/**
 * seqserve_event_loop_delay_seconds (issue 18's goal metric): a started server exports its process's
 * event-loop delay by quantile, it moves when the loop is blocked, and each scrape starts a new window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
let models: string;

beforeAll(async () => {
  models = mkdtempSync(path.join(tmpdir(), 'seqserve-eld-')); // no models: only the process's own metrics matter here
  server = await startTestServer({ modelsDir: models });
});
afterAll(async () => {
  await server?.close(1);
  rmSync(models, { recursive: true, force: true });
});

async function loopDelay(): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^seqserve_event_loop_delay_seconds\{quantile="([^"]+)"\} (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const block = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until); // the server runs in this process: its loop is blocked too
};

describe('seqserve_event_loop_delay_seconds', () => {
  it('is exported by quantile, rises when the loop is blocked, and restarts its window at each scrape', async () => {
    await loopDelay(); // the window of server start-up ends here
    await new Promise((r) => setTimeout(r, 300));
    const first = await loopDelay();
    expect(Object.keys(first).sort()).toEqual(['0.5', '0.9', '0.99', '1']);
    for (const v of Object.values(first)) expect(v).toBeGreaterThanOrEqual(0);
    // a loop that is not blocked reads about 0, not the monitor's 10 ms sampling interval
    expect(first['0.5']).toBeLessThan(0.005);

    // the monitor drops its first interval after a reset (a scrape): let it sample once before blocking
    await new Promise((r) => setTimeout(r, 30));
    block(300);
    await new Promise((r) => setTimeout(r, 50)); // the monitor's next sample records the delay
    const blocked = await loopDelay();
    expect(blocked['1']).toBeGreaterThanOrEqual(0.25);
    expect(blocked['1']).toBeLessThan(5);
    expect(blocked['0.5']).toBeLessThanOrEqual(blocked['0.99']);
    expect(blocked['0.99']).toBeLessThanOrEqual(blocked['1']);

    await new Promise((r) => setTimeout(r, 200));
    const after = await loopDelay(); // a new window: the 300 ms block belongs to the previous scrape
    expect(after['1']).toBeLessThan(0.25);
  }, 30_000);

  it('names the process that answered, and its restarts count (0 with one process)', async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    expect(text).toContain(`seqserve_process_info{pid="${process.pid}",worker="0"} 1`);
    expect(text).toMatch(/^seqserve_process_restarts_total 0$/m);
  });
});
