import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

// A repository with the real slot model beside broken ones: each broken model fails alone with the
// file, field and reason; the good one keeps serving; models reload and unload at run time (the
// server runs with --model-control explicit; test/model-control.test.ts covers the default).
let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

function writeModel(name: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(path.join(root, name), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(root, name, file), content);
}

const slotManifest = () => JSON.parse(readFileSync(path.join(SLOTS_DIR, 'manifest.json'), 'utf8'));

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-repo-'));
  cpSync(SLOTS_DIR, path.join(root, 'slots'), { recursive: true });
  writeModel('no-file', { 'manifest.json': JSON.stringify({ ...slotManifest(), name: 'no-file', graphs: { tagger: { role: 'tagger' } } }) });
  writeModel('bad-json', { 'manifest.json': '{"name": "bad-json", ' });
  writeModel('bad-onnx', { 'manifest.json': JSON.stringify({ ...slotManifest(), name: 'bad-onnx' }), 'tagger.onnx': new Uint8Array([1, 2, 3, 4, 5]) });
  cpSync(SLOTS_DIR, path.join(root, 'no-vocab'), { recursive: true });
  rmSync(path.join(root, 'no-vocab', 'vocab.json'));
  writeFileSync(path.join(root, 'no-vocab', 'manifest.json'), JSON.stringify({ ...slotManifest(), name: 'no-vocab' }));
  server = await startTestServer({ modelsDir: root, modelControl: 'explicit' });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

async function post(p: string, body?: unknown) {
  const res = await fetch(`${server.http}${p}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('model repository', () => {
  it('records each broken model with file, field and reason while the good one serves', async () => {
    const index = (await post('/v2/repository/index')).json as { name: string; state: string; reason?: string }[];
    const byName = Object.fromEntries(index.map((m) => [m.name, m]));
    expect(byName.slots.state).toBe('ready');
    expect(byName['no-file']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/no-file\/manifest\.json: graphs\.tagger\.file: /) });
    expect(byName['bad-json']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/bad-json\/manifest\.json: .*JSON/) });
    expect(byName['bad-onnx']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/bad-onnx\/tagger\.onnx: cannot load ONNX graph "tagger"/) });
    expect(byName['no-vocab']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/no-vocab\/vocab\.json: file not found/) });

    const ready = await fetch(`${server.http}/v2/models/bad-onnx/ready`);
    expect(ready.status).toBe(400);
    expect((await ready.json()).error).toMatch(/tagger\.onnx/);
    const meta = await fetch(`${server.http}/v2/models/no-file`);
    expect(meta.status).toBe(400);
    expect((await meta.json()).error).toMatch(/graphs\.tagger\.file/);
    expect((await post('/v1/slots', { text: 'fly to Paris', model: 'bad-onnx' })).status).toBe(503);
    expect((await post('/v1/slots', { text: 'fly to Paris', model: 'slots' })).status).toBe(200);
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
  });

  it('loads a fixed model, unloads and reloads without restarting', async () => {
    writeFileSync(path.join(root, 'no-file', 'manifest.json'), JSON.stringify({ ...slotManifest(), name: 'no-file' }));
    cpSync(path.join(SLOTS_DIR, 'tagger.onnx'), path.join(root, 'no-file', 'tagger.onnx'));
    cpSync(path.join(SLOTS_DIR, 'vocab.json'), path.join(root, 'no-file', 'vocab.json'));
    cpSync(path.join(SLOTS_DIR, 'crf.json'), path.join(root, 'no-file', 'crf.json'));
    expect(await post('/v2/repository/models/no-file/load')).toMatchObject({ status: 200, json: { name: 'no-file', state: 'ready' } });
    expect((await post('/v1/slots', { text: 'fly to Paris', model: 'no-file' })).status).toBe(200);

    expect(await post('/v2/repository/models/slots/unload')).toMatchObject({ status: 200, json: { state: 'unloaded' } });
    expect((await fetch(`${server.http}/v2/models/slots/ready`)).status).toBe(400);
    expect((await post('/v2/models/slots/infer', { inputs: [] })).status).toBe(503);
    expect(await post('/v2/repository/models/slots/load')).toMatchObject({ status: 200, json: { state: 'ready' } });
    expect((await fetch(`${server.http}/v2/models/slots/ready`)).status).toBe(200);
    expect((await post('/v2/repository/models/missing/load')).status).toBe(404);
  });

  it('keeps the previous version serving when a reload fails', async () => {
    const good = readFileSync(path.join(root, 'slots', 'manifest.json'), 'utf8');
    writeFileSync(path.join(root, 'slots', 'manifest.json'), JSON.stringify({ ...slotManifest(), version: '2', graphs: { tagger: { file: 'missing.onnx', role: 'tagger' } } }));
    const failed = await post('/v2/repository/models/slots/load');
    expect(failed.status).toBe(400);
    expect(failed.json.error).toMatch(/missing\.onnx: file not found/);
    const status = ((await post('/v2/repository/index')).json as { name: string; state: string; version: string }[]).find((m) => m.name === 'slots');
    expect(status).toMatchObject({ state: 'ready', version: '1' });
    expect((await post('/v1/slots', { text: 'fly to Paris', model: 'slots' })).status).toBe(200);
    writeFileSync(path.join(root, 'slots', 'manifest.json'), good);
  });
});
