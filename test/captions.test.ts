/**
 * Captioning end to end with the bundled model: the official openai client with vision input
 * (streaming), POST /v1/captions (multipart, JSON, SSE, attention), the gRPC Caption stream, the
 * CLI, bad input, and the model card's held-out exact match on the committed sample.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { startTestServer } from './helpers/test-server.ts';

const CAPTION_DIR = path.join(BUNDLED_MODELS_DIR, 'caption');
const SAMPLE_DIR = path.join(CAPTION_DIR, 'heldout-sample');
const sample = readFileSync(path.join(SAMPLE_DIR, 'captions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { image: string; caption: string; greedy: string });
const png = (file: string) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, file)));
const dataUrl = (file: string) => `data:image/png;base64,${Buffer.from(png(file)).toString('base64')}`;

let server: Awaited<ReturnType<typeof startTestServer>>;
let client: SeqserveHttpClient;

beforeAll(async () => {
  server = await startTestServer({ limits: { ...DEFAULT_CONFIG.limits, maxImagePixels: 200 * 200 } });
  client = new SeqserveHttpClient(server.http);
});
afterAll(async () => {
  await server.close();
});

async function post(body: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; json: { error: { message: string; param: string | null } } }> {
  const res = await fetch(`${server.http}/v1/captions`, { method: 'POST', body, headers });
  return { status: res.status, json: (await res.json()) as { error: { message: string; param: string | null } } };
}

describe('vision input on /v1/chat/completions (openai client)', () => {
  it('streams the caption of an image_url data: URL', async () => {
    const openai = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const item = sample[0];
    const stream = await openai.chat.completions.create({
      model: 'caption',
      temperature: 0,
      stream: true,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: dataUrl(item.image) } },
          ],
        },
      ],
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(item.greedy);
    expect(finish).toBe('stop');
    // without a model name, an image goes to the default caption model
    const plain = await openai.chat.completions.create({
      temperature: 0,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(item.image) } }] }],
    } as never);
    expect((plain as OpenAI.ChatCompletion).choices[0].message.content).toBe(item.greedy);
  });

  it('refuses images sent to a text model, and web URLs', async () => {
    const openai = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const ask = (model: string, url: string) => openai.chat.completions.create({ model, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] });
    await expect(ask('chat', dataUrl(sample[0].image))).rejects.toMatchObject({ status: 400, param: 'messages[0].content[0].image_url.url' });
    await expect(ask('caption', 'https://example.com/cat.png')).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/not fetched/) });
  });
});

describe('POST /v1/captions', () => {
  it('captions a multipart image with per-token log-probabilities and attention over the regions', async () => {
    const r = await client.caption(png(sample[1].image), { include_attention: true });
    expect(r.caption).toBe(sample[1].greedy);
    expect(r.finish_reason).toBe('stop');
    expect(r.attention_grid).toEqual([8, 8]);
    expect(
      r.tokens
        .map((t) => t.token)
        .join(' ')
        .replace(' ,', ','),
    ).toBe(r.caption);
    for (const t of r.tokens) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.attention).toHaveLength(64);
      expect(t.attention!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });

  it('takes JSON with base64 or a data: URL, and streams tokens as server-sent events', async () => {
    const b64 = Buffer.from(png(sample[2].image)).toString('base64');
    for (const image of [b64, dataUrl(sample[2].image)]) {
      const res = await fetch(`${server.http}/v1/captions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) });
      expect(((await res.json()) as { caption: string }).caption).toBe(sample[2].greedy);
    }
    const events: { type: string }[] = [];
    let text = '';
    for await (const e of client.captionStream(png(sample[2].image))) {
      events.push(e);
      if (e.type === 'token') text += e.delta;
      else expect(e.caption).toBe(sample[2].greedy);
    }
    expect(text).toBe(sample[2].greedy);
    expect(events.at(-1)!.type).toBe('done');
    expect(events.filter((e) => e.type === 'token').length).toBeGreaterThan(3);
  });

  it('answers bad input with 4xx naming the problem', async () => {
    const form = (parts: Record<string, Blob | string>) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(parts)) f.set(k, v);
      return f;
    };
    const notImage = await post(form({ image: new Blob(['this is not a picture']) }));
    expect(notImage).toMatchObject({ status: 400, json: { error: { param: 'image', message: expect.stringMatching(/not an image/) } } });
    expect((await post(form({ model: 'caption' }))).json.error.param).toBe('image');
    expect((await post(form({ image: new Blob([png(sample[0].image)]), temperature: 'hot' }))).json.error.param).toBe('temperature');
    expect((await post(form({ image: new Blob([png(sample[0].image)]), max_tokens: '500' }))).json.error.param).toBe('max_tokens');
    expect((await post(form({ image: new Blob([png(sample[0].image)]), model: 'chat' }))).json.error.param).toBe('model');
    expect((await post(JSON.stringify({ image: 'data:image/png;base64,@@@' }), { 'content-type': 'application/json' })).json.error.param).toBe('image');
    expect((await post('plain', { 'content-type': 'text/plain' })).status).toBe(400);
    // over the configured pixel limit (200 x 200 here): refused before decoding the pixels
    const { default: sharp } = await import('sharp');
    const big = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const tooBig = await post(form({ image: new Blob([new Uint8Array(big)]) }));
    expect(tooBig).toMatchObject({ status: 413, json: { error: { param: 'image', message: expect.stringMatching(/90000 pixels; the limit is 40000/) } } });
    // any size within the limit is resized to the model's input, JPEG as well as PNG
    const jpeg = await sharp(png(sample[0].image)).resize(128, 128).jpeg({ quality: 95 }).toBuffer();
    expect((await client.caption(new Uint8Array(jpeg))).caption.split(' ')[0]).toBe('a');
  });
});

describe('gRPC seqserve.v1.Generation/Caption', () => {
  it('streams the same caption as HTTP, and maps bad input to INVALID_ARGUMENT', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    const ok = await serverStream<{ delta: string; finish_reason: string; caption: string; attention: number[] }>(stub, 'Caption', {
      image: png(sample[3].image),
      include_attention: true,
    });
    expect(ok.error).toBeUndefined();
    expect(ok.messages.map((m) => m.delta).join('')).toBe(sample[3].greedy);
    expect(ok.messages.at(-1)).toMatchObject({ finish_reason: 'stop', caption: sample[3].greedy });
    expect(ok.messages[0].attention).toHaveLength(64);
    const bad = await serverStream(stub, 'Caption', { image: Buffer.from('nope') });
    expect(bad.error).toMatchObject({ code: 3, details: expect.stringMatching(/^image: is not an image/) });
    close();
  });
});

describe('seqserve caption (CLI)', () => {
  it('prints the caption', async () => {
    const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
    const { stdout } = await promisify(execFile)('node', [cli, '--url', server.http, 'caption', path.join(SAMPLE_DIR, sample[4].image)]);
    expect(stdout.trim()).toBe(sample[4].greedy);
  });
});

describe('caption model card', () => {
  it('reproduces the held-out exact match of the committed sample through the API', async () => {
    const metrics = JSON.parse(readFileSync(path.join(CAPTION_DIR, 'metrics.json'), 'utf8'));
    const card = readFileSync(path.join(CAPTION_DIR, 'README.md'), 'utf8');
    const captions = await Promise.all(sample.map(async (s) => (await client.caption(png(s.image))).caption));
    const exact = captions.filter((c, i) => c === sample[i].caption).length / sample.length;
    expect(exact).toBeCloseTo(metrics.heldout_sample.exact_match, 3);
    // ONNX Runtime in seqserve gives the recipe's own (PyTorch) greedy captions
    expect(captions.filter((c, i) => c === sample[i].greedy).length).toBeGreaterThanOrEqual(sample.length - 1);
    expect(card).toContain(`${(metrics.heldout_sample.exact_match * 100).toFixed(1)} %`);
    expect(card).toContain(`${(metrics.heldout.exact_match * 100).toFixed(1)} %`);
  });
});
