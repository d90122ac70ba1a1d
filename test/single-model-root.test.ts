import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

// KServe downloads one InferenceService's storageUri to /mnt/models: when that folder is itself a
// model folder (manifest.json at its top), `--models /mnt/models` serves that one model, named by its
// manifest, and its sub-folders (the slot model's recipe/) are its own files, not models.
let mnt: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

const post = async (url: string, body?: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & unknown[] };
};

beforeAll(async () => {
  mnt = path.join(mkdtempSync(path.join(tmpdir(), 'seqserve-mnt-')), 'models'); // like /mnt/models
  cpSync(SLOTS_DIR, mnt, { recursive: true });
  expect(existsSync(path.join(mnt, 'recipe'))).toBe(true);
  server = await startTestServer({ modelsDir: mnt });
});
afterAll(async () => {
  await server.close();
  rmSync(path.dirname(mnt), { recursive: true, force: true });
});

describe('a model folder given as the repository root', () => {
  it('serves that one model under its manifest name, ready', async () => {
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
    const index = await post(`${server.http}/v2/repository/index`);
    expect(index.json).toEqual([{ name: 'slots', version: '1', state: 'ready' }]);
    expect((await fetch(`${server.http}/v2/models/slots/ready`)).status).toBe(200);
    const slots = await post(`${server.http}/v1/slots`, { text: 'fly to Paris on Monday' });
    expect(slots.status).toBe(200);
    expect(slots.json).toMatchObject({ model: 'slots' });
  });

  it('serves the model files from the root folder, still confined to it', async () => {
    const res = await fetch(`${server.http}/v1/models/slots/files/manifest.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(readFileSync(path.join(mnt, 'manifest.json'), 'utf8')));
    expect((await fetch(`${server.http}/v1/models/slots/files/..%2Fmodels%2Fmanifest.json`)).status).toBe(400);
  });
});

describe('a model folder root whose manifest is broken', () => {
  let broken: string;
  let other: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    broken = path.join(mkdtempSync(path.join(tmpdir(), 'seqserve-mnt-')), 'models');
    cpSync(SLOTS_DIR, broken, { recursive: true });
    writeFileSync(path.join(broken, 'manifest.json'), '{"name": "slots", ');
    other = await startTestServer({ modelsDir: broken });
  });
  afterAll(async () => {
    await other.close();
    rmSync(path.dirname(broken), { recursive: true, force: true });
  });

  it('lists the one model as failed with the manifest problem, under the folder name when the manifest names none', async () => {
    const index = await post(`${other.http}/v2/repository/index`);
    expect(index.json).toEqual([{ name: 'models', version: '', state: 'failed', reason: expect.stringMatching(/models\/manifest\.json: .*JSON/) }]);
  });
});
