/**
 * Every model the repository index lists is addressable over KServe (issue 19): metadata for each by
 * its listed name, REST and gRPC; models with several graphs (chat, caption) answer as a whole
 * through their task's model-level interface (BYTES in, BYTES out) with the answers of their own
 * endpoints, while their graphs stay addressable as `model.graph`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

const PROMPT = 'i want to fly from taipei to tokyo on march 3rd';
let server: Awaited<ReturnType<typeof startTestServer>>;
let grpc: ReturnType<typeof kserveGrpcClient>;

beforeAll(async () => {
  server = await startTestServer();
  grpc = kserveGrpcClient(server.grpc);
}, 120_000);
afterAll(async () => {
  grpc?.close();
  await server?.close();
});

const post = async (url: string, body: unknown) => {
  const res = await fetch(`${server.http}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

describe('every listed model is addressable over KServe', () => {
  it('answers metadata for every model of the repository index, REST and gRPC', async () => {
    const index = (await post('/v2/repository/index', {})).body as { name: string; state: string }[];
    const ready = index.filter((m) => m.state === 'ready').map((m) => m.name);
    expect(ready).toEqual(expect.arrayContaining(['chat', 'caption', 'slots', 'asr']));
    for (const name of ready) {
      const rest = await fetch(`${server.http}/v2/models/${name}`);
      expect(rest.status, name).toBe(200);
      const meta = (await rest.json()) as { name: string; platform: string; inputs: unknown[]; outputs: unknown[]; parameters: { graphs: string } };
      if (meta.platform === 'seqserve_graphs') {
        // several graphs and no model-level interface: each graph it lists answers
        for (const g of meta.parameters.graphs.split(',')) expect((await fetch(`${server.http}/v2/models/${g}`)).status, g).toBe(200);
      } else expect(meta.inputs.length, name).toBeGreaterThan(0);
      const viaGrpc = await grpc.modelMetadata({ name });
      expect(viaGrpc.inputs.length, name).toBe(meta.inputs.length);
      expect((await grpc.modelReady({ name })).ready, name).toBe(true);
    }
    const chat = (await (await fetch(`${server.http}/v2/models/chat`)).json()) as any;
    expect(chat).toMatchObject({
      name: 'chat',
      platform: 'seqserve_task',
      inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'text_output', datatype: 'BYTES', shape: [-1] }],
      parameters: { task: 'chat', graphs: 'chat.encoder,chat.decoder' },
    });
    // the graphs stay addressable
    expect(((await (await fetch(`${server.http}/v2/models/chat.encoder`)).json()) as any).name).toBe('chat.encoder');
  });

  it('chat as one model: the reply of /v1/chat/completions, over REST and gRPC, one per item', async () => {
    const chat = await post('/v1/chat/completions', { messages: [{ role: 'user', content: PROMPT }], temperature: 0 });
    const expected = chat.body.choices[0].message.content as string;
    const rest = await post('/v2/models/chat/infer', {
      parameters: { temperature: 0 },
      inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [2], data: [PROMPT, PROMPT] }],
    });
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.outputs).toEqual([{ name: 'text_output', datatype: 'BYTES', shape: [2], data: [expected, expected] }]);
    const viaGrpc = await grpc.modelInfer({
      model_name: 'chat',
      parameters: { temperature: { double_param: 0, parameter_choice: 'double_param' } },
      inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(PROMPT)] } }],
    });
    const raw = new Uint8Array(viaGrpc.raw_output_contents[0]);
    expect(new TextDecoder().decode(raw.subarray(4))).toBe(expected);
    // refusals name the field
    const bad = await post('/v2/models/chat/infer', { parameters: { temperature: 9 }, inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], data: [PROMPT] }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/parameters\.temperature/);
    const wrong = await post('/v2/models/chat/infer', { inputs: [{ name: 'src_tokens', datatype: 'INT64', shape: [1, 1], data: [4] }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(/inputs\[0\]\.name: "src_tokens" is not an input of chat \(inputs: text_input\)/);
    const inherited = await post('/v2/models/chat/infer', { inputs: [{ name: '__proto__', datatype: 'BYTES', shape: [1], data: [PROMPT] }] });
    expect(inherited.body.error).toMatch(/inputs\[0\]\.name: "__proto__" is not an input of chat/);
  });

  it('caption as one model: the caption /v1/captions gives for the same image', async () => {
    const file = readdirSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample')).find((f) => f.endsWith('.png'))!;
    const image = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', file)).toString('base64');
    const expected = (await post('/v1/captions', { image })).body.caption as string;
    const res = await post('/v2/models/caption/infer', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [image] }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.outputs[0].data).toEqual([expected]);
  });

  it('one-graph task models answer through their interface as their own endpoints do, and still take their graph inputs', async () => {
    const bundled = (...p: string[]) => readFileSync(path.join(BUNDLED_MODELS_DIR, ...p));
    const bytes = (name: string, data: string[]) => ({ name, datatype: 'BYTES', shape: [data.length], data });
    const texts = ['leave taipei on november 2nd', 'win a free prize, click now'];
    const outputOf = (body: any, name: string) => (body.outputs as { name: string; data: string[] }[]).find((o) => o.name === name)!.data;

    const slots = await post('/v2/models/slots/infer', { inputs: [bytes('text_input', texts)] });
    expect(slots.status, JSON.stringify(slots.body)).toBe(200);
    for (const [i, text] of texts.entries()) {
      const { model: _, ...expected } = (await post('/v1/slots', { text })).body;
      expect(JSON.parse(outputOf(slots.body, 'json_output')[i])).toEqual(expected);
    }

    const spam = await post('/v2/models/spam/infer', { inputs: [bytes('text_input', texts)] });
    expect(spam.status, JSON.stringify(spam.body)).toBe(200);
    const predicted = (await post('/predict', { inputs: texts.map((t) => [t]) })).body;
    expect(outputOf(spam.body, 'json_output').map((j) => JSON.parse(j))).toEqual(predicted);
    const extensions = { return_attention: true, return_contributions: true };
    const explained = await post('/v2/models/spam/infer', { inputs: [bytes('text_input', texts)], parameters: extensions });
    expect(explained.status, JSON.stringify(explained.body)).toBe(200);
    const explainedByPredict = (await post('/predict', { inputs: texts.map((t) => [t]), ...extensions })).body;
    expect(explainedByPredict[0].attention.length).toBeGreaterThan(3);
    expect(outputOf(explained.body, 'json_output').map((j) => JSON.parse(j))).toEqual(explainedByPredict);
    const notBoolean = await post('/v2/models/spam/infer', { inputs: [bytes('text_input', texts)], parameters: { return_attention: 'yes' } });
    expect(notBoolean.status).toBe(400);
    expect(notBoolean.body.error).toMatch(/parameters\.return_attention/);

    const wav = bundled('asr', 'heldout-sample', '000.wav');
    const form = new FormData();
    form.append('file', new Blob([wav], { type: 'audio/wav' }), 'a.wav');
    const transcript = ((await (await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form })).json()) as { text: string }).text;
    const asr = await post('/v2/models/asr/infer', { inputs: [bytes('audio', [`data:audio/wav;base64,${wav.toString('base64')}`])] });
    expect(asr.status, JSON.stringify(asr.body)).toBe(200);
    expect(outputOf(asr.body, 'text_output')).toEqual([transcript]);

    const sample = JSON.parse(bundled('speech_qa', 'demo-sample', 'sample.json').toString()) as { question_text: string; choices: string[]; answer: string };
    const story = bundled('speech_qa', 'demo-sample', 'story.wav');
    const qaForm = new FormData();
    qaForm.append('story', new Blob([story], { type: 'audio/wav' }), 'story.wav');
    qaForm.append('question', sample.question_text);
    for (const c of sample.choices) qaForm.append('choices[]', c);
    const { model: _m, ...qa } = (await (await fetch(`${server.http}/v1/speech-qa`, { method: 'POST', body: qaForm })).json()) as Record<string, unknown>;
    const viaKServe = await post('/v2/models/speech_qa/infer', {
      inputs: [bytes('story', [story.toString('base64')]), bytes('question', [sample.question_text]), bytes('choices', [sample.choices.join('\n')])],
    });
    expect(viaKServe.status, JSON.stringify(viaKServe.body)).toBe(200);
    expect(outputOf(viaKServe.body, 'text_output')).toEqual([qa.answer]);
    expect(JSON.parse(outputOf(viaKServe.body, 'json_output')[0])).toEqual(qa);

    // refusals name the input or parameter
    const cases: [string, unknown, RegExp][] = [
      ['slots', { inputs: [bytes('text_input', [' '])] }, /inputs\.text_input\[0\]: must not be empty/],
      ['slots', { parameters: { beam: 3 }, inputs: [bytes('text_input', ['hi'])] }, /parameters\.beam: is not a parameter of this model/],
      [
        'slots',
        { parameters: { sequence_id: 5, sequence_start: true }, inputs: [bytes('text_input', ['hi'])] },
        /parameters\.sequence_id: slots answers through its task's interface/,
      ],
      [
        'slots',
        { inputs: [bytes('word_idz', ['hi'])] },
        /inputs\[0\]\.name: "word_idz" is not an input of slots \(inputs: text_input\); its graphs take their own: slots\.tagger \(.*word_ids/,
      ],
      ['slots', { inputs: [bytes('text_input', ['hi'])], outputs: [{ name: 'json_output' }, { name: 'json_output' }] }, /outputs\[1\]\.name: "json_output" is asked for twice/],
      ['spam', { parameters: { truncate: 'yes' }, inputs: [bytes('text_input', ['hi'])] }, /parameters\.truncate: must be a boolean/],
      ['asr', { inputs: [bytes('audio', ['not base64!'])] }, /inputs\.audio\[0\]: is not valid base64/],
      ['asr', { inputs: [bytes('audio', [Buffer.from('RIFF nonsense').toString('base64')])] }, /inputs\.audio\[0\]: not a readable WAV file/],
      ['asr', { parameters: { decoder: 'viterbi' }, inputs: [bytes('audio', [wav.toString('base64')])] }, /parameters\.decoder: must be greedy or beam/],
      ['speech_qa', { inputs: [bytes('story', [story.toString('base64')]), bytes('question', [sample.question_text]), bytes('choices', ['only one'])] }, /inputs\.choices\[0\]/],
    ];
    for (const [model, body, message] of cases) {
      const res = await post(`/v2/models/${model}/infer`, body);
      expect(res.status, `${model}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error).toMatch(message);
    }

    // a client written for the graph still reaches it by the model's name
    const raw = await post('/v2/models/slots/infer', { inputs: slotTaggerInputs('leave taipei on november 2nd') });
    expect(raw.status, JSON.stringify(raw.body)).toBe(200);
    expect(raw.body.model_name).toBe('slots.tagger');
  }, 120_000);

  it('file inputs also take the file itself as bytes: gRPC bytes_contents and the binary extension, as Triton clients send them', async () => {
    const png = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png'));
    const viaText = await post('/v2/models/caption/infer', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png.toString('base64')] }] });
    expect(viaText.status, JSON.stringify(viaText.body)).toBe(200);
    const caption = viaText.body.outputs[0].data[0] as string;
    // gRPC: the PNG's bytes as the element
    const viaGrpc = await grpc.modelInfer({ model_name: 'caption', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }] });
    expect(new TextDecoder().decode(new Uint8Array(viaGrpc.raw_output_contents[0]).subarray(4))).toBe(caption);
    // REST binary extension: 4-byte length + the PNG
    const length = Buffer.alloc(4);
    length.writeUInt32LE(png.length);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: png.length + 4 } }] }));
    const res = await fetch(`${server.http}/v2/models/caption/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, length, png]),
    });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs[0].data).toEqual([caption]);
    // a graph's BYTES input still refuses what ONNX Runtime cannot carry, naming the element
    const wav = readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', '000.wav'));
    const asText = await post('/v2/models/asr/infer', { inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav.toString('base64')] }] });
    const asBytes = await grpc.modelInfer({ model_name: 'asr', inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [wav] } }] });
    expect(new TextDecoder().decode(new Uint8Array(asBytes.raw_output_contents[0]).subarray(4))).toBe(asText.body.outputs[0].data[0]);
  }, 60_000);
});
