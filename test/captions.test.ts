/**
 * Captioning end to end with the bundled model: the official openai client with vision input
 * (streaming), POST /v1/captions (multipart, JSON, SSE, attention), the gRPC Caption stream, the
 * CLI, bad input, the model card's held-out exact match on the committed sample, and pictures
 * unlike the training scenes (unlike-sample/, sent at their own size): every object a caption names
 * is in the picture, and a picture without shapes is "no shapes".
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
const UNLIKE_DIR = path.join(CAPTION_DIR, 'unlike-sample');
type UnlikeItem = { image: string; width: number; height: number; kind: string; caption: string; objects: [string, string, string][]; greedy: string };
const unlike = readFileSync(path.join(UNLIKE_DIR, 'captions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as UnlikeItem);
const manifest = JSON.parse(readFileSync(path.join(CAPTION_DIR, 'manifest.json'), 'utf8')) as { knows: Record<string, string[]> };
const vocab = JSON.parse(readFileSync(path.join(CAPTION_DIR, 'vocab.json'), 'utf8')) as string[];

/** The objects a caption names, as "colour shape", read with the words the manifest says it knows. */
function mentioned(caption: string): string[] {
  const { sizes, colours, shapes } = manifest.knows;
  const object = new RegExp(`\\ba (${sizes.join('|')}) (${colours.join('|')}) (${shapes.join('|')})\\b`, 'g');
  return [...caption.matchAll(object)].map((m) => `${m[2]} ${m[3]}`);
}

/** The mentioned objects that are not in the picture (matched by colour and shape, each present one once). */
function inventedObjects(caption: string, objects: [string, string, string][]): string[] {
  const left = objects.map(([, colour, shape]) => `${colour} ${shape}`);
  return mentioned(caption).filter((o) => {
    const i = left.indexOf(o);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}
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
    // the unlike set's numbers, of this model and of the one it was trained from
    for (const m of [metrics.unlike, metrics.before_training.unlike]) {
      for (const key of ['exact_match', 'object_precision', 'object_recall', 'no_shapes_accuracy']) expect(card).toContain(`${(m[key] * 100).toFixed(1)} %`);
    }
    expect(card).toContain(metrics.command);
  });
});

describe('pictures unlike the training scenes (unlike-sample/: other sizes, anti-aliased and outlined shapes, photo-like textures)', () => {
  it('the sample holds pictures of other sizes than the model reads, with and without shapes', () => {
    expect(unlike.length).toBeGreaterThanOrEqual(20);
    expect(unlike.some((s) => s.objects.length === 0)).toBe(true);
    expect(unlike.some((s) => s.objects.length === 1)).toBe(true);
    expect(unlike.some((s) => s.objects.length === 2)).toBe(true);
    expect(unlike.every((s) => s.width !== 64 || s.height !== 64)).toBe(true);
  });

  it('names objects that are in the picture (at most one picture of the sample with one that is not), and "no shapes" when there are none', async () => {
    const results = await Promise.all(
      unlike.map(async (s) => {
        const { caption } = await client.caption(new Uint8Array(readFileSync(path.join(UNLIKE_DIR, s.image))));
        return { image: s.image, kind: s.kind, caption, invented: inventedObjects(caption, s.objects), named: mentioned(caption).length, objects: s.objects.length };
      }),
    );
    for (const r of results) {
      // every caption is one the vocabulary can say: "no shapes", or objects that are named
      expect(r.caption === 'no shapes' || r.named > 0, `${r.image}: ${r.caption}`).toBe(true);
      if (r.objects === 0) expect(r.caption, `${r.image} (${r.kind})`).toBe('no shapes');
      else expect(r.caption, `${r.image}: a picture with shapes`).not.toBe('no shapes');
    }
    // The goal is that no caption names an object that is not there. The bundled model misses it on
    // a few pictures of the unlike set (object precision in metrics.json and the card): in this
    // sample, at most one picture, and 90 % of the objects named are there.
    const invented = results.filter((r) => r.invented.length > 0);
    expect(invented.length, JSON.stringify(invented)).toBeLessThanOrEqual(1);
    const named = results.reduce((n, r) => n + r.named, 0);
    const wrong = results.reduce((n, r) => n + r.invented.length, 0);
    expect((named - wrong) / named).toBeGreaterThanOrEqual(0.9);
  });

  it("the server's resize (sharp) gives the recipe's captions (Pillow's resize to 64x64)", async () => {
    const captions = await Promise.all(unlike.map(async (s) => (await client.caption(new Uint8Array(readFileSync(path.join(UNLIKE_DIR, s.image))))).caption));
    // the two Lanczos resizes differ by a grey level here and there: at most one caption in the sample may differ
    expect(captions.filter((c, i) => c === unlike[i].greedy).length).toBeGreaterThanOrEqual(unlike.length - 1);
  });
});

describe('what the captioner knows (manifest knows, GET /v1/models/caption)', () => {
  it('lists its shapes, colours, sizes, relations and counts, each said with words of its vocabulary', async () => {
    const res = await fetch(`${server.http}/v1/models/caption`);
    const listed = ((await res.json()) as { knows: Record<string, string[]> }).knows;
    expect(listed).toEqual(manifest.knows);
    expect(Object.keys(listed)).toEqual(['shapes', 'colours', 'sizes', 'relations', 'counts']);
    for (const [category, entries] of Object.entries(listed)) {
      if (category === 'counts') continue; // numbers of objects, said by how many are named
      for (const entry of entries) for (const word of entry.split(' ')) expect(vocab, `${category}: ${entry}`).toContain(word);
    }
    expect(listed.counts).toContain('no shapes');
    for (const word of ['no', 'shapes']) expect(vocab).toContain(word);
  });
});
