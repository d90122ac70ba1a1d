/**
 * Model control (issue 16 §4): by default no client may load or unload a model (503, as Triton
 * answers outside its explicit mode) and the model keeps serving; with `--model-control explicit`
 * clients may; with API keys as well, only keys marked `admin` may (403 for the others), and the
 * repository index stays readable by every key.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

const ADMIN = 'sk-admin-5f0e1d2c3b4a5968';
const USER = 'sk-user-0a1b2c3d4e5f6071';

let root: string;
const servers: Awaited<ReturnType<typeof startTestServer>>[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-control-'));
  cpSync(SLOTS_DIR, path.join(root, 'slots'), { recursive: true, filter: (src) => !src.includes(`${path.sep}recipe`) });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

async function start(overrides: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer({ modelsDir: root, ...overrides });
  servers.push(server);
  return server;
}

function call(server: { http: string }, p: string, key?: string, body?: unknown) {
  return fetch(`${server.http}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
const slots = (server: { http: string }, key?: string) => call(server, '/v1/slots', key, { text: 'fly to Paris', model: 'slots' });

describe('model control', () => {
  it('refuses load and unload by default, naming the flag, and the model keeps serving', async () => {
    const server = await start({});
    for (const action of ['unload', 'load']) {
      const res = await call(server, `/v2/repository/models/slots/${action}`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/--model-control explicit/);
    }
    expect((await call(server, '/v2/repository/models/missing/load')).status).toBe(503); // the mode is checked first
    expect((await slots(server)).status).toBe(200);
    expect((await fetch(`${server.http}/v2/models/slots/ready`)).status).toBe(200);
    const index = (await (await call(server, '/v2/repository/index')).json()) as { name: string; state: string }[];
    expect(index.find((m) => m.name === 'slots')).toMatchObject({ state: 'ready' });
  });

  it('with --model-control explicit, unloads and loads on request', async () => {
    const server = await start({ modelControl: 'explicit' });
    const unloaded = await call(server, '/v2/repository/models/slots/unload');
    expect(unloaded.status).toBe(200);
    expect(await unloaded.json()).toMatchObject({ name: 'slots', state: 'unloaded' });
    expect((await slots(server)).status).not.toBe(200);
    expect((await call(server, '/v2/repository/models/slots/load')).status).toBe(200);
    expect((await slots(server)).status).toBe(200);
  });

  it('with API keys, only keys marked admin may load and unload; every key reads the index', async () => {
    const server = await start({ modelControl: 'explicit', apiKeys: [{ key: ADMIN, admin: true }, USER] });
    expect((await call(server, '/v2/repository/models/slots/unload')).status).toBe(401);
    for (const action of ['unload', 'load']) {
      const refused = await call(server, `/v2/repository/models/slots/${action}`, USER);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toMatch(/marked "admin"/);
    }
    expect((await slots(server, USER)).status).toBe(200); // still serving
    for (const key of [USER, ADMIN]) expect((await call(server, '/v2/repository/index', key)).status).toBe(200);

    expect((await call(server, '/v2/repository/models/slots/unload', ADMIN)).status).toBe(200);
    expect((await slots(server, USER)).status).not.toBe(200);
    expect((await call(server, '/v2/repository/models/slots/load', ADMIN)).status).toBe(200);
    expect((await slots(server, USER)).status).toBe(200);
  });

  it('with API keys and no model control, even an admin key gets the model-control error', async () => {
    const server = await start({ apiKeys: [{ key: ADMIN, admin: true }, USER] });
    expect((await call(server, '/v2/repository/models/slots/unload', USER)).status).toBe(403);
    const res = await call(server, '/v2/repository/models/slots/unload', ADMIN);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/--model-control explicit/);
    expect((await slots(server, USER)).status).toBe(200);
  });
});
