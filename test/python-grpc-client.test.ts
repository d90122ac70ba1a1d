import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { PROTO_DIR } from '../server/grpc/load-proto.ts';
import { directEmissions, slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

// Another gRPC implementation: Python grpcio with stubs that protoc generates from the KServe proto
// (Debian packages protobuf-compiler, protobuf-compiler-grpc, python3-grpcio; .ci/run installs them).
let server: Awaited<ReturnType<typeof startTestServer>>;
let stubDir: string;

beforeAll(async () => {
  server = await startTestServer();
  stubDir = mkdtempSync(path.join(tmpdir(), 'kserve-py-'));
  execFileSync('protoc', [
    `-I${path.join(PROTO_DIR, 'kserve')}`,
    `--python_out=${stubDir}`,
    `--grpc_python_out=${stubDir}`,
    '--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin',
    path.join(PROTO_DIR, 'kserve', 'grpc_service.proto'),
  ]);
});
afterAll(async () => {
  rmSync(stubDir, { recursive: true, force: true });
  await server.close();
});

describe('KServe gRPC with a Python grpcio client', () => {
  it('gets metadata, an inference equal to onnxruntime-node (a model addressed by its graph inputs), and NOT_FOUND for an unknown model', async () => {
    const inputs = slotTaggerInputs('leave Taipei on November 2nd');
    const script = path.join(import.meta.dirname, 'python', 'kserve_grpc_client.py');
    // Asynchronous: the server runs in this process and must keep answering while Python waits.
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, stubDir, server.grpc, JSON.stringify(inputs)], { encoding: 'utf8' });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ live: true, ready: true, server: 'seqserve' });
    expect(out.inputs).toEqual([
      ['ngram_ids', 'INT64', [-1, -1, 24]],
      ['shape_ids', 'INT64', [-1, -1]],
      ['word_ids', 'INT64', [-1, -1]],
    ]);
    const expected = await directEmissions(inputs);
    expect(out.infer).toMatchObject({ id: 'py-1', name: 'emissions', shape: [1, 5, expected.length / 5] });
    expect(out.infer.values).toEqual(Array.from(expected));
    expect(out.error.code).toBe('NOT_FOUND');
    expect(out.error.details).toMatch(/unknown model "nope"/);
  });

  it('answers metadata and an inference for every model of the repository index, as REST does', async () => {
    const bundled = (...p: string[]) => readFileSync(path.join(BUNDLED_MODELS_DIR, ...p));
    const story = JSON.parse(bundled('speech_qa', 'demo-sample', 'sample.json').toString()) as { question_text: string; choices: string[] };
    const bytes = (name: string, data: string[]) => ({ name, datatype: 'BYTES', shape: [data.length], data });
    const greedy = { temperature: 0 };
    // inputs per task for a model with a model-level interface, per model for a bare graph
    const byTask: Record<string, Plan> = {
      chat: { inputs: [bytes('text_input', ['i want to fly from taipei to tokyo'])], parameters: greedy },
      text2text: { inputs: [bytes('text_input', ['hello', 'seqserve'])], parameters: greedy },
      caption: { inputs: [bytes('image', [bundled('caption', 'heldout-sample', '000.png').toString('base64')])], parameters: greedy },
      'slot-filling': { inputs: [bytes('text_input', ['leave taipei on november 2nd', 'arrive in tokyo'])] },
      'text-classification': { inputs: [bytes('text_input', ['win a free prize now', 'the meeting moved to tuesday'])] },
      'speech-recognition': { inputs: [bytes('audio', [bundled('asr', 'heldout-sample', '000.wav').toString('base64')])] },
      'text-recognition': {
        inputs: [
          bytes(
            'image',
            ['zh.png', 'en.png'].map((f) => bundled('ppocr_rec', 'sample', f).toString('base64')),
          ),
        ],
        parameters: { decoding: 'greedy' },
      },
      'audio-embedding': {
        inputs: [
          bytes(
            'audio',
            ['word-000.wav', 'word-001.wav'].map((f) => bundled('audio_word2vec', 'heldout-sample', f).toString('base64')),
          ),
        ],
      },
      'speech-qa': {
        inputs: [
          bytes('story', [bundled('speech_qa', 'demo-sample', 'story.wav').toString('base64')]),
          bytes('question', [story.question_text]),
          bytes('choices', [story.choices.join('\n')]),
        ],
      },
      'visual-qa': {
        inputs: [
          bytes(
            'image',
            ['000.png', '001.png'].map((f) => bundled('vqa', 'heldout-sample', f).toString('base64')),
          ),
          bytes('question', ['is there a red circle?', 'how many objects are there?']),
        ],
        parameters: { top_k: 3 },
      },
    };
    const byModel: Record<string, Plan> = {
      // a caption model of its own kind: a clip (an animated GIF) per item
      video_caption: { inputs: [bytes('image', [bundled('video_caption', 'heldout-sample', '000.gif').toString('base64')])], parameters: greedy },
      silero_vad: {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 576], data: Array.from({ length: 576 }, (_, i) => Math.sin(i / 5) / 4) }],
        parameters: { sequence_id: 7, sequence_start: true, sequence_end: true },
      },
    };
    const index = (await (await fetch(`${server.http}/v2/repository/index`, { method: 'POST', body: '{}' })).json()) as { name: string; state: string }[];
    const plans: Record<string, Plan> = {};
    for (const { name } of index.filter((m) => m.state === 'ready')) {
      const meta = (await (await fetch(`${server.http}/v2/models/${name}`)).json()) as { platform: string; parameters: { task: string } };
      const plan = byModel[name] ?? (meta.platform === 'seqserve_task' ? byTask[meta.parameters.task] : undefined);
      if (plan) plans[name] = plan;
    }
    const script = path.join(import.meta.dirname, 'python', 'kserve_grpc_index.py');
    const planFile = path.join(stubDir, 'plans.json');
    writeFileSync(planFile, JSON.stringify(plans));
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, stubDir, server.grpc, server.http, planFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const out = JSON.parse(stdout) as {
      ready: string[];
      unplanned: string[];
      models: Record<string, { ready: boolean; metadata: { name: string; platform: string; inputs: unknown[] }; infer?: { outputs: Record<string, unknown[]> } }>;
    };
    expect(out.ready).toEqual(expect.arrayContaining(['asr', 'caption', 'chat', 'g2p', 'silero_vad', 'slots', 'spam', 'speech_qa']));
    expect(out.unplanned, 'ready models this test has no inputs for: add them to byTask or byModel').toEqual([]);
    for (const name of out.ready) {
      const { ready, metadata, infer } = out.models[name];
      expect(ready, name).toBe(true);
      expect(metadata.inputs.length, name).toBeGreaterThan(0);
      if (metadata.platform === 'seqserve_task') expect(metadata.name, name).toBe(name);
      // the same request over REST answers the same
      const rest = await fetch(`${server.http}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plans[name]) });
      const body = (await rest.json()) as { outputs: { name: string; data: unknown[] }[] };
      expect(rest.status, `${name}: ${JSON.stringify(body)}`).toBe(200);
      expect(infer!.outputs, name).toEqual(Object.fromEntries(body.outputs.map((o) => [o.name, o.data])));
    }
    // a sample of the answers, checked for what they are
    const slots = out.models.slots.infer!.outputs.json_output.map((j) => JSON.parse(j as string) as { slots: { value: string }[] });
    expect(slots[0].slots.map((s) => s.value)).toContain('taipei');
    const vqa = out.models.vqa.infer!.outputs.json_output.map((j) => JSON.parse(j as string) as { answer: string; answers: unknown[] });
    expect(vqa.map((a) => a.answers.length)).toEqual([3, 3]);
    expect(vqa.map((a) => a.answer)).toEqual(out.models.vqa.infer!.outputs.text_output);
    const spam = out.models.spam.infer!.outputs.json_output.map((j) => JSON.parse(j as string) as { label: string; score: number }[]);
    expect(spam.map((p) => p.length)).toEqual([2, 2]);
    expect(typeof out.models.asr.infer!.outputs.text_output[0]).toBe('string');
    const clip = JSON.parse(bundled('video_caption', 'heldout-sample', 'captions.jsonl').toString().split('\n')[0]) as { greedy: string };
    expect(out.models.video_caption.infer!.outputs.text_output).toEqual([clip.greedy]);
    expect(out.models.audio_word2vec.infer!.outputs.embedding).toHaveLength(2 * 128); // FP32 [2, 128]
    const lines = JSON.parse(bundled('ppocr_rec', 'sample', 'sample.json').toString()) as Record<string, string>;
    expect(out.models.ppocr_rec.infer!.outputs.text_output).toEqual([lines['zh.png'], lines['en.png']]);
  }, 120_000);
});

interface Plan {
  inputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
  parameters?: Record<string, unknown>;
}
