/**
 * The README's "Serving your own PyTorch model", run as written: its export script (PyTorch, at test
 * time), its manifests and its calls against a server over the exported models, with PyTorch's own
 * outputs as reference; then each mistake the section lists, with the error it says you get.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const PYTHON = '/usr/bin/python3';

/** The README section's fenced blocks, each with the line of text before it. */
function readmeSection(): { lang: string; code: string; before: string }[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Serving your own PyTorch model\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks: { lang: string; code: string; before: string }[] = [];
  const re = /([^\n]*)\n\n```(\w*)\n([\s\S]*?)\n```/g;
  for (let m = re.exec(section); m; m = re.exec(section)) blocks.push({ before: m[1], lang: m[2], code: m[3] });
  return blocks;
}

let dir: string; // the user's working folder: export.py writes my-models/ here
let models: string;
let server: Awaited<ReturnType<typeof startTestServer>>;
/** PyTorch's outputs for the README's inputs. */
let reference: { log_probs: number[]; y: number[]; h_out: number[]; c_out: number[] };

const blocks = readmeSection();
const script = blocks.find((b) => b.lang === 'python')!.code;
const manifests = blocks.filter((b) => b.lang === 'json' && /`my-models\/[^`]+\/manifest\.json`/.test(b.before));
const calls = blocks.filter((b) => b.lang === 'sh' && b.code.includes('curl'))[0].code;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seqserve-own-'));
  models = path.join(dir, 'my-models');
  // the README's script, then PyTorch's outputs for the inputs the README's calls send
  const check = `
import json
with torch.no_grad():
    lp = classifier(torch.tensor([[12, 7, 431, 9]]))
    y, h, c = step(torch.tensor([[0.5, -1.0, 0.25]]), torch.zeros(1, 1, 4), torch.zeros(1, 1, 4))
print("REFERENCE" + json.dumps({"log_probs": lp.flatten().tolist(), "y": y.flatten().tolist(), "h_out": h.flatten().tolist(), "c_out": c.flatten().tolist()}))
`;
  const out = execFileSync(PYTHON, ['-c', `${script}\n${check}`], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  reference = JSON.parse(out.slice(out.indexOf('REFERENCE') + 'REFERENCE'.length));
  for (const m of manifests) {
    const file = /`(my-models\/[^`]+\/manifest\.json)`/.exec(m.before)![1];
    writeFileSync(path.join(dir, file), m.code);
  }
  server = await startTestServer({ modelsDir: models, modelControl: 'explicit' });
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = promisify(execFile);
const CLI = path.join(ROOT, 'bin', 'seqserve.js');

describe('README: serving your own PyTorch model', () => {
  it('has the export script, two manifests and the calls', () => {
    expect(script).toMatch(/torch\.onnx\.export/);
    expect(manifests.map((m) => (JSON.parse(m.code) as { name: string }).name).sort()).toEqual(['lstm-step', 'sentiment']);
    expect(calls.match(/^(curl|npx) /gm)?.length).toBe(4);
  });

  it('`seqserve check` reports both models ready', async () => {
    const { stdout } = await run('node', [CLI, 'check', '--models', models], { encoding: 'utf8' });
    expect(stdout).toMatch(/^lstm-step\s+ready\s*$/m);
    expect(stdout).toMatch(/^sentiment\s+ready\s*$/m);
  });

  it("answers the README's calls (REST, metadata, gRPC through the CLI) with PyTorch's outputs", async () => {
    // each command of the block, run by bash against this server
    const commands = calls.split(/\n(?=curl |npx )/);
    const env = { ...process.env, SEQSERVE_GRPC: server.grpc, SEQSERVE_URL: server.http };
    const answers = [];
    for (const command of commands) {
      const { stdout } = await run('bash', ['-c', command.replace(/localhost:8000/g, server.http.replace('http://', ''))], { cwd: ROOT, env, encoding: 'utf8' });
      answers.push(JSON.parse(stdout));
    }
    const [sentiment, lstm, metadata, grpc] = answers;
    type Out = { name: string; shape: number[]; data: number[] };
    const close = (got: number[], want: number[]) => got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(sentiment).toMatchObject({ model_name: 'sentiment.classifier', model_version: '1', outputs: [{ name: 'log_probs', datatype: 'FP32', shape: [1, 3] }] });
    close(sentiment.outputs[0].data, reference.log_probs);
    const byName = Object.fromEntries((lstm.outputs as Out[]).map((o) => [o.name, o]));
    expect(byName.y.shape).toEqual([1, 3]);
    expect(byName.h_out.shape).toEqual([1, 1, 4]);
    expect(byName.c_out.shape).toEqual([1, 1, 4]);
    for (const name of ['y', 'h_out', 'c_out'] as const) close(byName[name].data, reference[name]);
    expect(metadata.parameters).toMatchObject({ task: 'generic', role: 'step' });
    expect(JSON.parse(metadata.parameters.states)).toEqual([
      { input: 'h_in', output: 'h_out', batchAxis: 1 },
      { input: 'c_in', output: 'c_out', batchAxis: 1 },
    ]);
    expect(grpc).toMatchObject({ model_name: 'sentiment.classifier', model_version: '1' });
    close(grpc.outputs[0].data, reference.log_probs);
  }, 60_000);
});

describe('README: what mistakes look like', () => {
  const lstm = () => JSON.parse(readFileSync(path.join(models, 'lstm-step', 'manifest.json'), 'utf8'));
  /** A copy of lstm-step as folder `folder` with its manifest changed by `edit`. */
  const variant = (folder: string, edit: (m: Record<string, any>) => void) => {
    cpSync(path.join(models, 'lstm-step'), path.join(models, folder), { recursive: true });
    const m = lstm();
    m.name = folder;
    edit(m);
    writeFileSync(path.join(models, folder, 'manifest.json'), JSON.stringify(m, null, 2));
  };
  const post = async (p: string) => {
    const res = await fetch(`${server.http}${p}`, { method: 'POST' });
    return { status: res.status, json: await res.json() };
  };

  it('names the file, the field and the fix, and the model answers 503 with it', async () => {
    variant('state-typo', (m) => {
      m.graphs.step.state = m.graphs.step.states;
      delete m.graphs.step.states;
    });
    variant('batch-axis-typo', (m) => (m.graphs.step.states[0] = { input: 'h_in', output: 'h_out', batch_axis: 1 }));
    variant('bad-role', (m) => (m.graphs.step.role = 'lstm'));
    variant('number-version', (m) => (m.version = 1));
    variant('LstmStep', (m) => (m.name = 'lstmstep'));
    variant('other-name', (m) => (m.name = 'lstm'));
    variant('wrong-file', (m) => (m.graphs.step.file = 'stpe.onnx'));
    // ONNX files at the top and in a Triton version folder: no manifest can be inferred (one file alone would be)
    mkdirSync(path.join(models, 'gru', '1'), { recursive: true });
    cpSync(path.join(models, 'sentiment', 'classifier.onnx'), path.join(models, 'gru', 'model.onnx'));
    cpSync(path.join(models, 'sentiment', 'classifier.onnx'), path.join(models, 'gru', '1', 'model.onnx'));
    mkdirSync(path.join(models, 'triton', '1'), { recursive: true });
    writeFileSync(path.join(models, 'triton', 'config.pbtxt'), 'platform: "pytorch_libtorch"\n');
    writeFileSync(path.join(models, 'triton', '1', 'model.pt'), 'a TorchScript file');
    const expected: Record<string, RegExp> = {
      'state-typo': /state-typo\/manifest\.json: graphs\.step\.state: unknown key; did you mean states\?/,
      'batch-axis-typo': /batch-axis-typo\/manifest\.json: graphs\.step\.states\[0\]\.batch_axis: unknown key; did you mean batchAxis\?/,
      'bad-role': /bad-role\/manifest\.json: graphs\.step\.role: "lstm" is not a role of a generic model \(roles: model, classifier, /,
      'number-version': /number-version\/manifest\.json: version: versions are strings: write "1", not 1/,
      LstmStep:
        /my-models\/LstmStep: "LstmStep" is not a model name: model names \(the folder names\) are lower case: letters, digits, "-" and "_"; rename the folder to "lstmstep"/,
      'other-name': /other-name\/manifest\.json: name: "lstm" does not match its folder "other-name"/,
      'wrong-file': /wrong-file\/stpe\.onnx: file not found$/,
      gru: /gru\/manifest\.json: file not found, and no manifest can be inferred: the folder has ONNX files both at its top \(model\.onnx\) and in Triton version folders \(1\/model\.onnx\), so which are the model is not clear: write one: /,
      triton: /triton\/manifest\.json: file not found: this is a Triton model folder \(config\.pbtxt\); seqserve reads manifest\.json, not config\.pbtxt/,
    };
    for (const [folder, reason] of Object.entries(expected)) {
      const load = await post(`/v2/repository/models/${folder}/load`);
      expect(load.status, folder).toBe(400);
      expect(load.json.error).toMatch(reason);
      const infer = await fetch(`${server.http}/v2/models/${folder}/infer`, { method: 'POST', body: '{"inputs": []}' });
      expect(infer.status, folder).toBe(503);
      expect((await infer.json()).error).toMatch(new RegExp(`^model "${folder}" is not serving: it failed to load: .*${reason.source}`));
    }
    const index = (await post('/v2/repository/index')).json as { name: string; state: string; reason?: string }[];
    for (const [folder, reason] of Object.entries(expected))
      expect(
        index.find((m) => m.name === folder),
        folder,
      ).toMatchObject({ state: 'failed', reason: expect.stringMatching(reason) });
    expect(index.filter((m) => m.state === 'ready').map((m) => m.name)).toEqual(['lstm-step', 'sentiment']);
  });

  it('a graph that cannot warm up on 1s points to warmupShapes, and loads with them', async () => {
    mkdirSync(path.join(models, 'frontend'));
    // not execFileSync: the server runs in this process, and a blocked event loop lets a keep-alive
    // connection time out under the client's next request (ECONNRESET on a loaded machine)
    await run(PYTHON, [path.join(ROOT, 'test', 'fixtures', 'make_conv_frontend.py'), path.join(models, 'frontend', 'frontend.onnx')]);
    const manifest = { name: 'frontend', task: 'generic', graphs: { frontend: { file: 'frontend.onnx', role: 'model' } } };
    writeFileSync(path.join(models, 'frontend', 'manifest.json'), JSON.stringify(manifest));
    const failed = await post('/v2/repository/models/frontend/load');
    expect(failed.status).toBe(400);
    expect(failed.json.error).toMatch(
      /frontend\/frontend\.onnx: warm-up run of graph "frontend" failed: Non-zero status code returned while running \w*Conv node.* — it was fed zeros of shapes features \[1, 1, 40\] .*; if the graph needs other shapes, set graphs\.frontend\.warmupShapes in \S+frontend\/manifest\.json, e\.g\. "warmupShapes": \{"features": \[1, 16, 40\]\}$/,
    );
    expect(failed.json.error).not.toMatch(/\n/); // ORT's first line only
    // the README's fix
    const fix = JSON.parse(`{${/"graphs": \{ "frontend"[^\n]*/.exec(blocks.find((b) => b.code.includes('warmupShapes'))!.code)![0]}}`) as { graphs: object };
    writeFileSync(path.join(models, 'frontend', 'manifest.json'), JSON.stringify({ ...manifest, ...fix }));
    expect(await post('/v2/repository/models/frontend/load')).toMatchObject({ status: 200, json: { name: 'frontend', state: 'ready' } });
  }, 60_000);
});
