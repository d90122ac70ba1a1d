/**
 * Auto-configuration against a real server (issue 19, part 3): a repository of folders holding only
 * ONNX files exported from PyTorch at test time (test/fixtures/make_inference_graphs.py) — a
 * feed-forward graph, a GRU step, a Triton layout (config.pbtxt, 1/ and 2/model.onnx) and a folder
 * whose files do not decide it. Each that can be is listed ready with a note, its KServe metadata
 * carries the inferred manifest, REST infer answers PyTorch's outputs; the undecided folder fails
 * with the reason. Then `seqserve init` writes a manifest that loads unchanged.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { Ajv } from 'ajv';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { Metrics } from '../server/observability/metrics.ts';
import { ModelRepository } from '../server/runtime/model-repository.ts';
import { SessionFactory } from '../server/runtime/session-factory.ts';
import { startTestServer } from './helpers/test-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'bin', 'seqserve.js');
const run = promisify(execFile);

let graphs: string;
let repo: string;
let server: Awaited<ReturnType<typeof startTestServer>>;
let reference: Record<string, Record<string, number[]>>;

beforeAll(async () => {
  graphs = mkdtempSync(path.join(tmpdir(), 'seqserve-autocfg-graphs-'));
  const out = execFileSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fixtures', 'make_inference_graphs.py'), graphs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  reference = JSON.parse(out.slice(out.indexOf('REFERENCE') + 'REFERENCE'.length));
  repo = mkdtempSync(path.join(tmpdir(), 'seqserve-autocfg-repo-'));
  const put = (file: string, from: string) => {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    cpSync(path.join(graphs, from), path.join(repo, file));
  };
  put('ff/feed_forward.onnx', 'feed_forward.onnx');
  put('gru/step.onnx', 'gru_step.onnx');
  put('tagger/1/model.onnx', 'feed_forward.onnx'); // Triton's layout: version 2 is the one served
  put('tagger/2/model.onnx', 'tagger.onnx');
  writeFileSync(path.join(repo, 'tagger', 'config.pbtxt'), 'name: "tagger"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n');
  put('mixed/model.onnx', 'feed_forward.onnx'); // both at the top and in a version folder: undecided
  put('mixed/1/model.onnx', 'tagger.onnx');
  server = await startTestServer({ modelsDir: repo, modelControl: 'explicit' });
}, 120_000);
afterAll(async () => {
  await server?.close();
  for (const d of [graphs, repo]) if (d) rmSync(d, { recursive: true, force: true });
});

const post = async (p: string, body?: unknown) => {
  const res = await fetch(`${server.http}${p}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
};
const get = async (p: string) => (await fetch(`${server.http}${p}`)).json();
const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
};

describe('ONNX-only folders are served with an inferred manifest', () => {
  it('lists them ready with a note; a folder its files do not decide fails with the reason', async () => {
    const index = (await post('/v2/repository/index')).json as { name: string; state: string; version: string; reason?: string; note?: string }[];
    const by = Object.fromEntries(index.map((m) => [m.name, m]));
    expect(by.ff).toMatchObject({
      state: 'ready',
      version: '1',
      note: expect.stringMatching(/^no manifest\.json: manifest inferred from feed_forward\.onnx \(generic, no recurrent states\)/),
    });
    expect(by.gru).toMatchObject({
      state: 'ready',
      note: expect.stringMatching(/inferred from step\.onnx \(generic, 1 recurrent state\(s\)\).*parameters\.inferred_manifest.*seqserve init/),
    });
    expect(by.tagger).toMatchObject({ state: 'ready', version: '2', note: expect.stringMatching(/inferred from 2\/model\.onnx/) });
    expect(by.mixed).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(
        /mixed\/manifest\.json: file not found, and no manifest can be inferred: the folder has ONNX files both at its top \(model\.onnx\) and in Triton version folders \(1\/model\.onnx\), so which are the model is not clear: write one: /,
      ),
    });
    expect(by.ff.reason).toBeUndefined();
  });

  it('KServe metadata shows the inferred manifest (parameters.inferred_manifest) and the states', async () => {
    const ff = await get('/v2/models/ff');
    expect(ff).toMatchObject({
      name: 'ff.feed_forward',
      versions: ['1'],
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
      parameters: { task: 'generic', role: 'model' },
    });
    const manifest = JSON.parse(ff.parameters.inferred_manifest);
    expect(manifest).toMatchObject({ name: 'ff', task: 'generic', graphs: { feed_forward: { file: 'feed_forward.onnx', inputs: [{ name: 'x', shape: ['batch', 8] }] } } });
    expect(JSON.parse(ff.parameters.dynamic_batching)).toMatchObject({ max_batch_size: 64 }); // axis 0 is "batch": batched
    const gru = await get('/v2/models/gru');
    expect(gru.parameters.role).toBe('step');
    expect(JSON.parse(gru.parameters.states)).toEqual([{ input: 'h_in', output: 'h_out', batchAxis: 1 }]);
    expect(JSON.parse(gru.parameters.inferred_manifest).graphs.step.states).toEqual([{ input: 'h_in', output: 'h_out', batchAxis: 1 }]);
    const tagger = await get('/v2/models/tagger');
    expect(tagger).toMatchObject({ name: 'tagger.model', versions: ['2'], inputs: [{ name: 'token_ids', datatype: 'INT64', shape: [-1, -1] }] });
    expect(JSON.parse(tagger.parameters.inferred_manifest).graphs.model.file).toBe('2/model.onnx');
  });

  it("KServe infer over REST answers PyTorch's outputs (feed-forward, GRU step, Triton layout)", async () => {
    const ff = await post('/v2/models/ff/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 8], data: reference.feed_forward.x }] });
    expect(ff.status).toBe(200);
    expect(ff.json.outputs[0]).toMatchObject({ name: 'logits', shape: [2, 3] });
    close(ff.json.outputs[0].data, reference.feed_forward.logits);
    const gru = await post('/v2/models/gru/infer', {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 3], data: reference.gru_step.x },
        { name: 'h_in', datatype: 'FP32', shape: [1, 1, 4], data: [0, 0, 0, 0] },
      ],
    });
    expect(gru.status).toBe(200);
    const out = Object.fromEntries((gru.json.outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data]));
    close(out.y, reference.gru_step.y);
    close(out.h_out, reference.gru_step.h_out);
    const tagger = await post('/v2/models/tagger/versions/2/infer', { inputs: [{ name: 'token_ids', datatype: 'INT64', shape: [1, 3], data: reference.tagger.token_ids }] });
    expect(tagger.status).toBe(200);
    expect(tagger.json.outputs[0]).toMatchObject({ name: 'emissions', shape: [1, 3, 5] });
    close(tagger.json.outputs[0].data, reference.tagger.emissions);
  });
});

describe('ONNX-only folders: state and logs', () => {
  it('an inferred state serves server-held sequences (sequence_id) as the client-fed state does', async () => {
    const xs = [reference.gru_step.x, [0.1, 0.2, -0.3]];
    const step = async (body: object) => {
      const r = await post('/v2/models/gru/infer', body);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return Object.fromEntries((r.json.outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data]));
    };
    const x = (data: number[]) => ({ name: 'x', datatype: 'FP32', shape: [1, 3], data });
    // the client carries the state
    const first = await step({ inputs: [x(xs[0]), { name: 'h_in', datatype: 'FP32', shape: [1, 1, 4], data: [0, 0, 0, 0] }] });
    const second = await step({ inputs: [x(xs[1]), { name: 'h_in', datatype: 'FP32', shape: [1, 1, 4], data: first.h_out }] });
    // the server does
    const a = await step({ parameters: { sequence_id: 7, sequence_start: true }, inputs: [x(xs[0])] });
    const b = await step({ parameters: { sequence_id: 7, sequence_end: true }, inputs: [x(xs[1])] });
    close(a.y, first.y);
    close(b.y, second.y);
  });

  it('logs the inferred manifest once at load, with what to check', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const repository = new ModelRepository({
      root: repo,
      sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
      log,
      metrics: new Metrics(),
      queue: DEFAULT_CONFIG.queue,
    });
    try {
      await repository.load('ff');
    } finally {
      await repository.close();
    }
    const inferred = lines
      .map((l) => JSON.parse(l) as { msg: string; model?: string; manifest?: { graphs: object }; notes?: string[] })
      .filter((l) => /manifest inferred/.test(l.msg));
    expect(inferred).toHaveLength(1);
    expect(inferred[0]).toMatchObject({
      model: 'ff',
      msg: 'model "ff": no manifest.json; manifest inferred from feed_forward.onnx',
      manifest: { graphs: { feed_forward: { role: 'model' } } },
    });
    expect(inferred[0].notes?.length).toBeGreaterThan(0);
  });
});

describe('a repository root that is itself an ONNX-only model folder', () => {
  it('is one model named after the folder (top-level files, or Triton version folders)', async () => {
    const solo = mkdtempSync(path.join(tmpdir(), 'seqserve-autocfg-solo-'));
    try {
      cpSync(path.join(graphs, 'gru_step.onnx'), path.join(solo, 'gru', 'step.onnx'), { recursive: true });
      cpSync(path.join(graphs, 'feed_forward.onnx'), path.join(solo, 'tri', '3', 'model.onnx'), { recursive: true });
      const log = pino({ level: 'silent' });
      const open = (root: string) =>
        new ModelRepository({
          root,
          sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
          log,
          metrics: new Metrics(),
          queue: DEFAULT_CONFIG.queue,
        });
      for (const [name, version, graph] of [
        ['gru', '1', 'step'],
        ['tri', '3', 'model'],
      ]) {
        const repository = open(path.join(solo, name));
        try {
          expect(await repository.singleModel()).toBe(name);
          await repository.loadAll();
          expect(repository.index()).toEqual([{ name, version, state: 'ready', note: expect.stringMatching(/^no manifest\.json: manifest inferred from /) }]);
          expect([...repository.model(name).graphs.keys()]).toEqual([graph]);
        } finally {
          await repository.close();
        }
      }
      // the folder above them is a repository of two models, as before
      expect(await open(solo).scan()).toEqual(['gru', 'tri']);
    } finally {
      rmSync(solo, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('seqserve init', () => {
  it('writes the inferred manifest (schema-valid), refuses to overwrite it, and the server loads it unchanged', async () => {
    const before = await get('/v2/models/gru');
    const { stdout } = await run('node', [CLI, 'init', path.join(repo, 'gru', 'step.onnx')], { encoding: 'utf8' });
    expect(stdout).toMatch(/^wrote \S+gru\/manifest\.json \(model "gru", version "1", task generic\)$/m);
    expect(stdout).toMatch(/^ {2}state {2}h_in -> h_out \(batchAxis 1\)$/m);
    expect(stdout).toMatch(/^check:\n {2}- step: h_in -> h_out: recurrent state, stacked along axis 1 \("batch"\)$/m);
    const file = path.join(repo, 'gru', 'manifest.json');
    const written = JSON.parse(readFileSync(file, 'utf8'));
    const schema = JSON.parse(readFileSync(path.join(ROOT, 'docs', 'manifest.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(written), JSON.stringify(validate.errors)).toBe(true);
    expect(existsSync(path.resolve(path.dirname(file), written.$schema))).toBe(true); // editors find the schema
    const { $schema: _, ...manifest } = written;
    expect(manifest).toEqual(JSON.parse(before.parameters.inferred_manifest));
    // a second init refuses; --force overwrites
    await expect(run('node', [CLI, 'init', path.join(repo, 'gru')], { encoding: 'utf8' })).rejects.toMatchObject({
      stderr: expect.stringMatching(/manifest\.json exists; give --force/),
    });
    await run('node', [CLI, 'init', path.join(repo, 'gru'), '--force'], { encoding: 'utf8' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(written);

    expect(await post('/v2/repository/models/gru/load')).toMatchObject({ status: 200, json: { name: 'gru', state: 'ready' } });
    const after = await get('/v2/models/gru');
    expect(after.parameters.inferred_manifest).toBeUndefined(); // now read from manifest.json
    const { inferred_manifest: __, ...params } = before.parameters;
    expect(after).toEqual({ ...before, parameters: params });
    const index = (await post('/v2/repository/index')).json as { name: string; note?: string }[];
    expect(index.find((m) => m.name === 'gru')?.note).toBeUndefined();
    // a manifest whose declared tensors no longer fit the graph fails naming the difference
    writeFileSync(
      file,
      JSON.stringify({
        ...manifest,
        graphs: { step: { ...manifest.graphs.step, inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 4] }, manifest.graphs.step.inputs[1]] } },
      }),
    );
    const failed = await post('/v2/repository/models/gru/load');
    expect(failed.status).toBe(400);
    expect(failed.json.error).toMatch(/gru\/manifest\.json: graphs\.step\.inputs\[0\]\.shape: the graph's input "x" is \[batch, 3\], not \[batch, 4\]/);
  }, 60_000);

  it('a Triton version file writes into the model folder; a folder its files do not decide is refused with the reason', async () => {
    const { stdout } = await run('node', [CLI, 'init', path.join(repo, 'tagger', '2', 'model.onnx')], { encoding: 'utf8' });
    expect(stdout).toMatch(/^wrote \S+tagger\/manifest\.json \(model "tagger", version "2", task generic\)$/m);
    expect(JSON.parse(readFileSync(path.join(repo, 'tagger', 'manifest.json'), 'utf8')).graphs.model.file).toBe('2/model.onnx');
    expect(await post('/v2/repository/models/tagger/load')).toMatchObject({ status: 200, json: { state: 'ready' } });
    await expect(run('node', [CLI, 'init', path.join(repo, 'mixed')], { encoding: 'utf8' })).rejects.toMatchObject({
      stderr: expect.stringMatching(/mixed: cannot infer a manifest: the folder has ONNX files both at its top/),
    });
    // one file of it decides
    await run('node', [CLI, 'init', path.join(repo, 'mixed', 'model.onnx')], { encoding: 'utf8' });
    expect(await post('/v2/repository/models/mixed/load')).toMatchObject({ status: 200, json: { state: 'ready' } });
  }, 60_000);
});
