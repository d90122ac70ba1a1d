/**
 * Auto-configuration's inference on graphs exported from PyTorch at test time
 * (test/fixtures/make_inference_graphs.py), read by onnxruntime-node as the server reads them
 * (SessionFactory.describe): a feed-forward graph, recurrent steps with h_in/h_out (and c_in/c_out),
 * two dynamic axes, a time-major graph, a step with a fixed batch; plus the name rules on made-up
 * signatures and the check of a declared signature against the graph.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_OPTIONS, SessionFactory } from '../runtime/session-factory.ts';
import { signatureFromMetadata, type InputSignature } from './feed-check.ts';
import { signatureProblems } from './graph-signature.ts';
import { graphNameOf, inferManifest, inferStates, type DescribedGraph } from './manifest-inference.ts';
import { parseManifest } from './manifest.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let dir: string;
const sessions = new SessionFactory({ ...DEFAULT_RUNTIME_OPTIONS, providers: ['cpu'] }, pino({ level: 'silent' }));
const described = async (file: string): Promise<DescribedGraph> => ({ file, ...(await sessions.describe(new Uint8Array(readFileSync(path.join(dir, file))))) });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'seqserve-infer-'));
  execFileSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fixtures', 'make_inference_graphs.py'), dir], { stdio: 'ignore' });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('manifest inference on PyTorch exports', () => {
  it('a feed-forward graph: one generic graph, its tensors, batched along "batch"', async () => {
    const { manifest, notes } = inferManifest('ff', [await described('feed_forward.onnx')]);
    expect(manifest).toEqual({
      name: 'ff',
      version: '1',
      task: 'generic',
      description: 'inferred by seqserve from feed_forward.onnx',
      graphs: {
        feed_forward: {
          file: 'feed_forward.onnx',
          role: 'model',
          inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 8] }],
          outputs: [{ name: 'logits', datatype: 'FP32', shape: ['batch', 3] }],
        },
      },
    });
    expect(notes.join('\n')).toMatch(/concurrent requests are batched along axis 0 \("batch"\)/);
    expect(notes.join('\n')).toMatch(/x \[batch, 8\]\) are held to the server's --max-axis-length/);
    expect(() => parseManifest(manifest)).not.toThrow();
  });

  it('a GRU step: h_in -> h_out is a state stacked along the symbolic batch axis 1; role step', async () => {
    const { manifest, notes } = inferManifest('gru', [await described('gru_step.onnx')]);
    const g = manifest.graphs.gru_step;
    expect(g).toMatchObject({ role: 'step', states: [{ input: 'h_in', output: 'h_out', batchAxis: 1 }] });
    expect(g.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: ['batch', 3] },
      { name: 'h_in', datatype: 'FP32', shape: [1, 'batch', 4] },
    ]);
    expect(g.outputs.map((t) => t.name)).toEqual(['y', 'h_out']);
    expect(g.dynamicBatching).toBeUndefined(); // a graph with states is not batched per request
    expect(notes).toContain('gru_step: h_in -> h_out: recurrent state, stacked along axis 1 ("batch")');
  });

  it('an LSTM step: both h and c pairs', async () => {
    const { manifest } = inferManifest('lstm', [await described('lstm_step.onnx')]);
    expect(manifest.graphs.lstm_step.states).toEqual([
      { input: 'h_in', output: 'h_out', batchAxis: 1 },
      { input: 'c_in', output: 'c_out', batchAxis: 1 },
    ]);
  });

  it('two dynamic axes: both symbolic names kept, int64 as INT64; several files make several graphs', async () => {
    const { manifest, notes } = inferManifest('two', [await described('tagger.onnx'), await described('feed_forward.onnx')]);
    expect(Object.keys(manifest.graphs)).toEqual(['tagger', 'feed_forward']);
    expect(manifest.graphs.tagger).toMatchObject({
      role: 'tagger', // the file's name is a generic role
      inputs: [{ name: 'token_ids', datatype: 'INT64', shape: ['batch', 'tokens'] }],
      outputs: [{ name: 'emissions', datatype: 'FP32', shape: ['batch', 'tokens', 5] }],
    });
    expect(manifest.graphs.tagger.states).toBeUndefined();
    expect(notes.join('\n')).toMatch(/tagger: variable input axes \(token_ids \[batch, tokens\]\)/);
  });

  it('a time-major graph: axis 0 is "time", so dynamic batching is off, with the reason', async () => {
    const { manifest, notes } = inferManifest('tm', [await described('time_major.onnx')]);
    expect(manifest.graphs.time_major).toMatchObject({ role: 'model', dynamicBatching: { enabled: false }, inputs: [{ shape: ['time', 'batch', 4] }] });
    expect(notes.join('\n')).toMatch(/dynamic batching off: axis 0 of every tensor varies but is named "time"/);
  });

  it('a step exported with a fixed batch: the state is left out, and why', async () => {
    const { manifest, notes } = inferManifest('fixed', [await described('fixed_step.onnx')]);
    expect(manifest.graphs.fixed_step.states).toBeUndefined();
    expect(manifest.graphs.fixed_step.role).toBe('model');
    expect(notes.join('\n')).toMatch(/h_in -> h_out: looks like a recurrent state, left out: its shape \[1, 1, 4\] has no variable axis/);
  });

  it('what the graph declares is what the check accepts; a changed graph is refused naming the difference', async () => {
    const gru = await described('gru_step.onnx');
    const { manifest } = inferManifest('gru', [gru]);
    const actual = { inputs: signatureFromMetadata(gru.inputs), outputs: signatureFromMetadata(gru.outputs) };
    expect(signatureProblems('gru_step', manifest.graphs.gru_step, actual)).toEqual([]);
    const other = await described('lstm_step.onnx');
    const problems = signatureProblems('gru_step', manifest.graphs.gru_step, { inputs: signatureFromMetadata(other.inputs), outputs: signatureFromMetadata(other.outputs) });
    expect(problems).toContain('graphs.gru_step.inputs: the graph\'s input "c_in" is not declared (declare every input, or none)');
    expect(problems).toContain('graphs.gru_step.outputs[0].shape: the graph\'s output "y" is [batch, 3], not [batch, 2] (fixed lengths must be equal, variable axes a name or -1)');
    const retyped = { ...manifest.graphs.gru_step, inputs: [{ name: 'x', datatype: 'INT64' as const, shape: [-1, 3] }, manifest.graphs.gru_step.inputs[1]] };
    expect(signatureProblems('gru_step', retyped, actual)).toEqual(['graphs.gru_step.inputs[0].datatype: the graph\'s input "x" is FP32, not INT64']);
  });
});

describe('manifest inference rules', () => {
  const t = (name: string, shape: (number | string)[], type = 'float32'): InputSignature => ({
    name,
    type,
    shape: shape.map((d) => (typeof d === 'number' ? d : -1)),
    dimNames: shape.map((d) => (typeof d === 'string' ? d : undefined)),
  });

  it('pairs state names by their affixes, and only those', () => {
    const pairs = (i: string, o: string) => inferStates([t(i, [1, 'batch', 4])], [t(o, [1, 'batch', 4])]).states.length === 1;
    for (const [i, o] of [
      ['h_in', 'h_out'],
      ['hin', 'hout'],
      ['in_h', 'out_h'],
      ['h0', 'hn'],
      ['h_0', 'h_n'],
      ['prev_state', 'next_state'],
      ['state', 'next_state'],
      ['past_kv', 'present_kv'],
      ['old_c', 'new_c'],
    ])
      expect(pairs(i, o), `${i} -> ${o}`).toBe(true);
    for (const [i, o] of [
      ['input_ids', 'output_ids'],
      ['x', 'y'],
      ['h_in', 'c_out'],
      ['attentio0', 'attention'],
      ['features', 'features'],
    ])
      expect(pairs(i, o), `${i} -> ${o}`).toBe(false);
  });

  it('leaves out states whose shapes or types differ, or whose pairing or batch axis is ambiguous', () => {
    expect(inferStates([t('h_in', [1, 'batch', 4])], [t('h_out', [1, 'batch', 8])]).notes[0]).toMatch(/shapes differ/);
    expect(inferStates([t('h_in', [1, 'batch', 4], 'float16')], [t('h_out', [1, 'batch', 4])]).notes[0]).toMatch(/float16 in, float32 out/);
    const two = inferStates([t('h_in', [1, 'batch', 4])], [t('h_out', [1, 'batch', 4]), t('out_h', [1, 'batch', 4])]);
    expect(two.states).toEqual([]);
    expect(two.notes[0]).toMatch(/ambiguous/);
    const axes = inferStates([t('x', ['n', 3]), t('h_in', ['layers', 'batch', 4])], [t('h_out', ['layers', 'batch', 4])]);
    expect(axes.states).toEqual([]);
    expect(axes.notes[0]).toMatch(/which of its variable axes \(0, 1\) is the batch is not clear/);
    // the batch is the symbol the other inputs' axis 0 has
    const shared = inferStates([t('x', ['b', 3]), t('h_in', ['layers', 'b', 4])], [t('h_out', ['layers', 'b', 4])]);
    expect(shared.states).toEqual([{ input: 'h_in', output: 'h_out', batchAxis: 1 }]);
  });

  it('names graphs from files; refuses two files with one graph name', () => {
    expect(graphNameOf('1/model.onnx')).toBe('model');
    expect(graphNameOf('My-Encoder.v2.onnx')).toBe('my_encoder_v2');
    expect(graphNameOf('---.onnx')).toBeUndefined();
    const g = {
      inputs: [{ name: 'x', isTensor: true as const, type: 'float32', shape: ['batch', 2] }],
      outputs: [{ name: 'y', isTensor: true as const, type: 'float32', shape: ['batch', 2] }],
    };
    expect(() =>
      inferManifest('m', [
        { file: 'A.onnx', ...g },
        { file: 'a.onnx', ...g },
      ]),
    ).toThrow('A.onnx and a.onnx would both be graph "a"; rename one of them');
    expect(() => inferManifest('m', [{ file: 'a.onnx', inputs: [{ name: 'seq', isTensor: false }], outputs: g.outputs }])).toThrow(/"seq" is not a tensor/);
  });
});
