import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { status as grpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { Metrics } from '../server/observability/metrics.ts';
import { ModelRepository } from '../server/runtime/model-repository.ts';
import { SessionFactory } from '../server/runtime/session-factory.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

// A repository with the real slot model beside broken ones: each broken model fails alone with the
// file, field and reason; the good one keeps serving; models reload and unload at run time (the
// server runs with --model-control explicit; test/model-control.test.ts covers the default).
let root: string;
let linked: string;
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
  // folders that cannot be models: each is listed with the reason, none skipped
  const tagger = readFileSync(path.join(SLOTS_DIR, 'tagger.onnx'));
  writeModel('only-onnx', { 'model.onnx': tagger }); // served with a manifest inferred from the graph (test/auto-config.test.ts)
  writeModel('two-onnx', { 'model.onnx': tagger }); // ONNX files at the top and in a version folder: which is the model?
  writeModel('two-onnx/1', { 'model.onnx': tagger });
  writeModel('triton', { 'config.pbtxt': 'name: "triton"\nplatform: "pytorch_libtorch"\n' });
  writeModel('triton/1', { 'model.pt': 'not an ONNX graph' });
  cpSync(SLOTS_DIR, path.join(root, 'MySlots'), { recursive: true });
  writeModel('empty', {});
  writeModel('typo', { 'manifest.json': JSON.stringify({ ...slotManifest(), name: 'typo', graphs: { tagger: { file: 'tagger.onnx', role: 'tagger', state: [] } } }) });
  writeModel('_shared', { 'notes.txt': 'shared files: not a model' });
  // a model folder that is a symbolic link (a repository assembled with ln -s, a mounted volume)
  linked = mkdtempSync(path.join(tmpdir(), 'seqserve-linked-'));
  cpSync(SLOTS_DIR, path.join(linked, 'slots-linked'), { recursive: true });
  writeFileSync(path.join(linked, 'slots-linked', 'manifest.json'), JSON.stringify({ ...slotManifest(), name: 'slots-linked' }));
  symlinkSync(path.join(linked, 'slots-linked'), path.join(root, 'slots-linked'));
  server = await startTestServer({ modelsDir: root, modelControl: 'explicit' });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(linked, { recursive: true, force: true });
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
    expect(byName['slots-linked'].state).toBe('ready');
    expect(byName['only-onnx']).toMatchObject({ state: 'ready', note: expect.stringMatching(/^no manifest\.json: manifest inferred from model\.onnx/) });
    expect(byName['no-file']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/no-file\/manifest\.json: graphs\.tagger\.file: /) });
    expect(byName['bad-json']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/bad-json\/manifest\.json: .*JSON/) });
    expect(byName['bad-onnx']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/bad-onnx\/tagger\.onnx: cannot load ONNX graph "tagger"/) });
    expect(byName['no-vocab']).toMatchObject({ state: 'failed', reason: expect.stringMatching(/no-vocab\/vocab\.json: file not found/) });

    const ready = await fetch(`${server.http}/v2/models/bad-onnx/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ name: 'bad-onnx', ready: false, error: expect.stringMatching(/tagger\.onnx/) });
    const meta = await fetch(`${server.http}/v2/models/no-file`);
    expect(meta.status).toBe(503);
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
    expect((await fetch(`${server.http}/v2/models/slots/ready`)).status).toBe(503);
    expect(await post('/v2/models/slots/infer', { inputs: [] })).toMatchObject({ status: 503, json: { error: 'model "slots" is not serving: it is unloaded (on request)' } });
    expect((await post('/v2/repository/index')).json).toContainEqual({ name: 'slots', version: '', state: 'unloaded', reason: 'unloaded on request' });
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
    expect(failed.json.error.match(/missing\.onnx/g)).toHaveLength(1); // the path once
    const status = ((await post('/v2/repository/index')).json as { name: string; state: string; version: string }[]).find((m) => m.name === 'slots');
    expect(status).toMatchObject({ state: 'ready', version: '1' });
    expect((await post('/v1/slots', { text: 'fly to Paris', model: 'slots' })).status).toBe(200);
    writeFileSync(path.join(root, 'slots', 'manifest.json'), good);
  });
});

describe('model repository: every folder is listed', () => {
  const reasons: Record<string, RegExp> = {
    'two-onnx':
      /two-onnx\/manifest\.json: file not found, and no manifest can be inferred: the folder has ONNX files both at its top \(model\.onnx\) and in Triton version folders \(1\/model\.onnx\), so which are the model is not clear: write one: .*README/,
    triton: /triton\/manifest\.json: file not found: this is a Triton model folder \(config\.pbtxt\); seqserve reads manifest\.json, not config\.pbtxt/,
    MySlots: /MySlots: "MySlots" is not a model name: model names \(the folder names\) are lower case: .*rename the folder to "myslots"/,
    empty: /empty\/manifest\.json: file not found/,
    typo: /typo\/manifest\.json: graphs\.tagger\.state: unknown key; did you mean states\?/,
  };

  it('lists each folder that cannot serve with the reason; "_" folders hold shared files', async () => {
    const index = (await post('/v2/repository/index')).json as { name: string; state: string; reason?: string }[];
    for (const [name, reason] of Object.entries(reasons))
      expect(
        index.find((m) => m.name === name),
        name,
      ).toMatchObject({ state: 'failed', reason: expect.stringMatching(reason) });
    expect(index.map((m) => m.name)).not.toContain('_shared');
  });

  it('answers a later load of such a folder with the reason; an unknown folder is 404', async () => {
    for (const [name, reason] of Object.entries(reasons)) {
      const res = await post(`/v2/repository/models/${name}/load`);
      expect(res.status, name).toBe(400);
      expect(res.json.error).toMatch(reason);
    }
    expect(await post('/v2/repository/models/nope/load')).toMatchObject({ status: 404, json: { error: expect.stringMatching(/no model folder "nope"/) } });
    expect((await post('/v2/repository/models/..%2Fetc/load')).status).toBe(404);
  });

  it('the browser client parses a manifest with the same strict parse, naming the file', async () => {
    const { loadWebModel } = await import('../clients/web/seqserve-web.ts');
    await expect(loadWebModel(server.http, 'typo', { cache: false })).rejects.toThrow(
      /\/v1\/models\/typo\/files\/manifest\.json: graphs\.tagger\.state: unknown key; did you mean states\?/,
    );
  });

  it('lists a folder added after start-up', async () => {
    writeModel('Later', {});
    try {
      const index = (await post('/v2/repository/index')).json as { name: string; state: string; reason?: string }[];
      expect(index.find((m) => m.name === 'Later')).toMatchObject({ state: 'unloaded', reason: expect.stringMatching(/is not a model name/) });
    } finally {
      rmSync(path.join(root, 'Later'), { recursive: true });
    }
  });

  it('answers metadata, ready and infer of a model that is not serving with 503 / UNAVAILABLE and the reason, on both transports', async () => {
    for (const name of ['two-onnx', 'typo', 'MySlots']) {
      for (const res of [
        await fetch(`${server.http}/v2/models/${name}`),
        await fetch(`${server.http}/v2/models/${name}/ready`),
        await fetch(`${server.http}/v2/models/${name}/infer`, { method: 'POST', body: '{"inputs": []}' }),
      ]) {
        expect(res.status, `${name} ${res.url}`).toBe(503);
        expect((await res.json()).error).toMatch(new RegExp(`^model "${name}" is not serving: it failed to load: .*${reasons[name].source}`));
      }
    }
    const grpc = kserveGrpcClient(server.grpc);
    try {
      expect(await grpc.modelReady({ name: 'typo' })).toEqual({ ready: false });
      for (const call of [grpc.modelMetadata({ name: 'typo' }), grpc.modelInfer({ model_name: 'typo', inputs: [] })]) {
        const err = (await call.catch((e: unknown) => e)) as { code: number; details: string };
        expect(err.code).toBe(grpcStatus.UNAVAILABLE);
        expect(err.details).toMatch(/^model "typo" is not serving: it failed to load: .*did you mean states\?/);
      }
    } finally {
      grpc.close();
    }
  });

  it('logs every folder that is not serving at start-up, and `seqserve check` reports each failure once', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = pino({ level: 'info' }, sink);
    const repository = new ModelRepository({
      root,
      sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
      log,
      metrics: new Metrics(),
      queue: DEFAULT_CONFIG.queue,
    });
    await repository.loadAll();
    await repository.close();
    const summary = lines.map((l) => JSON.parse(l) as { msg: string; notServing?: { name: string; reason: string }[] }).find((l) => l.msg.includes('not serving'));
    expect(summary?.msg).toMatch(/: 4 ready, 8 not serving$/);
    expect(summary?.notServing?.map((m) => m.name).sort()).toEqual(['MySlots', 'bad-json', 'bad-onnx', 'empty', 'no-vocab', 'triton', 'two-onnx', 'typo']);

    const cli = path.resolve(import.meta.dirname, '..', 'bin', 'seqserve.js');
    const run = await promisify(execFile)('node', [cli, 'check', '--models', root], { encoding: 'utf8' }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((run as { code?: number }).code).toBe(1);
    const out = run.stdout + run.stderr;
    expect(out.match(/did you mean states\?/g)).toHaveLength(1); // once, not logged and printed
    expect(out).toMatch(/^typo\s+failed\s+\S*typo\/manifest\.json: graphs\.tagger\.state: unknown key/m);
    expect(out).toMatch(/^slots\s+ready/m);
  });
});
