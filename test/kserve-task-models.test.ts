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
  });

  it('caption as one model: the caption /v1/captions gives for the same image', async () => {
    const file = readdirSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample')).find((f) => f.endsWith('.png'))!;
    const image = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', file)).toString('base64');
    const expected = (await post('/v1/captions', { image })).body.caption as string;
    const res = await post('/v2/models/caption/infer', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [image] }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.outputs[0].data).toEqual([expected]);
  });
});
