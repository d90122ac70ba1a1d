/**
 * Video captioning end to end with the bundled model (models/video_caption, served by the caption
 * task): the committed held-out sample (animated GIFs of unseen object-motion combinations) through
 * POST /v1/captions against the card's threshold and the recipe's own captions, a list of frames
 * (multipart and JSON) captioned as the GIF is, animated WebP and a GIF with every frame doubled
 * (uniform-time sampling), SSE with attention over frames, the OpenAI SDK's vision input (one
 * animated image_url, or several image_url parts as frames), the KServe model-level infer, the
 * client library, and bad input: nothing sent, a still picture, too many frames, too many pixels,
 * an empty or broken frame, frames of mixed sizes (taken), both image and frames.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { startTestServer } from './helpers/test-server.ts';

const MODEL_DIR = path.join(BUNDLED_MODELS_DIR, 'video_caption');
const SAMPLE_DIR = path.join(MODEL_DIR, 'heldout-sample');
const sample = readFileSync(path.join(SAMPLE_DIR, 'captions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { video: string; caption: string; greedy: string });
const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as {
  knows: Record<string, string[]>;
  video: { frames: number; maxFrames: number };
};
const gif = (file: string) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, file)));
const MAX_PIXELS = 64 * 64 * 300;
/**
 * The sample's exact match is at least this (the card: 95.0 % on these 40 clips, 92.8 % on the
 * 1,000 held-out clips; the goal is 90 %), and its object precision and recall at least OBJECTS
 * (card: 97.4 %, 97.4 %).
 */
const SAMPLE_EXACT_MATCH = 0.88;
const OBJECTS = 0.92;

/** The objects (colour shape) a caption names, with the words the manifest says it knows. */
function mentioned(caption: string): string[] {
  const { colours, shapes } = manifest.knows;
  return [...caption.matchAll(new RegExp(`\\ban? (${colours.join('|')}) (${shapes.join('|')})\\b`, 'g'))].map((m) => `${m[1]} ${m[2]}`);
}

/** The GIF's frames as PNG files, in order. */
async function framesOf(bytes: Uint8Array): Promise<Buffer[]> {
  const { pages = 1 } = await sharp(bytes, { animated: true }).metadata();
  return Promise.all(Array.from({ length: pages }, (_, k) => sharp(bytes, { page: k, pages: 1 }).png().toBuffer()));
}

let server: Awaited<ReturnType<typeof startTestServer>>;
let client: SeqserveHttpClient;

beforeAll(async () => {
  server = await startTestServer({ modelsDir: MODEL_DIR, limits: { ...DEFAULT_CONFIG.limits, maxImagePixels: MAX_PIXELS } });
  client = new SeqserveHttpClient(server.http);
});
afterAll(async () => {
  await server.close();
});

type Caption = { caption: string; tokens: { token: string; attention?: number[] }[]; attention_frames?: number };
type ErrorBody = { error: { message: string; param: string | null } };

async function post(body: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; json: Caption & ErrorBody }> {
  const res = await fetch(`${server.http}/v1/captions`, { method: 'POST', body, headers });
  return { status: res.status, json: (await res.json()) as Caption & ErrorBody };
}

function gifForm(bytes: Uint8Array, extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('image', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/gif' }), 'clip.gif');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

function framesForm(frames: readonly Uint8Array[], extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  frames.forEach((f, i) => form.append('frames', new Blob([f as Uint8Array<ArrayBuffer>], { type: 'image/png' }), `${i}.png`));
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

describe('held-out sample (unseen combinations of objects and motions)', () => {
  it(`captions the committed GIFs through POST /v1/captions: exact match >= ${SAMPLE_EXACT_MATCH}, object precision and recall >= ${OBJECTS}, as the recipe captioned them`, async () => {
    const results = await Promise.all(sample.map(async (item) => ({ item, res: await post(gifForm(gif(item.video))) })));
    let exact = 0;
    let agree = 0;
    let said = 0;
    let present = 0;
    let there = 0;
    let found = 0;
    for (const { item, res } of results) {
      expect(res.status).toBe(200);
      const hyp = res.json.caption;
      exact += Number(hyp === item.caption);
      agree += Number(hyp === item.greedy);
      const objects = mentioned(item.caption);
      const left = [...objects];
      for (const o of mentioned(hyp)) {
        said++;
        const i = left.indexOf(o);
        if (i >= 0) {
          left.splice(i, 1);
          present++;
        }
      }
      there += objects.length;
      found += objects.length - left.length;
    }
    const n = sample.length;
    expect(n).toBeGreaterThanOrEqual(30);
    expect(exact / n).toBeGreaterThanOrEqual(SAMPLE_EXACT_MATCH);
    // sharp's GIF decoding gives the recipe's pixels (PIL's), so the captions are the recipe's
    expect(agree / n).toBeGreaterThanOrEqual(0.95);
    expect(present / said).toBeGreaterThanOrEqual(OBJECTS); // object precision
    expect(found / there).toBeGreaterThanOrEqual(OBJECTS); // object recall
  });
});

describe('inputs', () => {
  const item = sample[0];

  it('a list of frames (multipart parts, JSON base64) is captioned as the GIF is, attention and all', async () => {
    const bytes = gif(item.video);
    const frames = await framesOf(bytes);
    const fromGif = await post(gifForm(bytes, { include_attention: 'true' }));
    expect(fromGif.status).toBe(200);
    expect(fromGif.json.attention_frames).toBe(manifest.video.frames);
    expect(fromGif.json.tokens.length).toBeGreaterThan(0);
    for (const t of fromGif.json.tokens) {
      expect(t.attention).toHaveLength(manifest.video.frames);
      expect(t.attention!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    }
    // a GIF merges identical consecutive frames into a longer one: the list repeats them as the GIF's delays say
    const { delay = [] } = await sharp(bytes, { animated: true }).metadata();
    const unit = Math.min(...delay);
    const list = frames.flatMap((f, k) => Array.from({ length: Math.round((delay[k] ?? unit) / unit) }, () => new Uint8Array(f)));
    const multipart = await post(framesForm(list, { include_attention: 'true', model: 'video_caption' }));
    expect(multipart.status).toBe(200);
    expect(multipart.json.caption).toBe(fromGif.json.caption);
    expect(multipart.json.tokens.map((t) => t.attention)).toEqual(fromGif.json.tokens.map((t) => t.attention));
    const json = await post(JSON.stringify({ frames: list.map((f) => `data:image/png;base64,${Buffer.from(f).toString('base64')}`) }), {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(200);
    expect(json.json.caption).toBe(fromGif.json.caption);
  });

  it('an animated WebP, and a GIF with every frame doubled, are sampled to the same frames', async () => {
    const bytes = gif(item.video);
    const { delay = [] } = await sharp(bytes, { animated: true }).metadata();
    const frames = await framesOf(bytes);
    const webp = await sharp(frames, { join: { animated: true } })
      .webp({ lossless: true, delay, loop: 0 })
      .toBuffer();
    const doubled = await sharp(
      frames.flatMap((f) => [f, f]),
      { join: { animated: true } },
    )
      .gif({ delay: delay.flatMap((d) => [d / 2, d / 2]), loop: 0 })
      .toBuffer();
    const base = (await post(gifForm(bytes))).json.caption;
    const fromWebp = await post(gifForm(new Uint8Array(webp)));
    expect(fromWebp.status).toBe(200);
    expect(fromWebp.json.caption).toBe(base);
    const fromDoubled = await post(gifForm(new Uint8Array(doubled)));
    expect(fromDoubled.status).toBe(200);
    expect(fromDoubled.json.caption).toBe(base);
  });

  it('streams caption.token events with attention over frames, then caption.done', async () => {
    const res = await fetch(`${server.http}/v1/captions`, { method: 'POST', body: gifForm(gif(item.video), { stream: 'true', include_attention: 'true' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await res.text())
      .split('\n\n')
      .filter((b) => b.startsWith('data: ') && !b.includes('[DONE]'))
      .map((b) => JSON.parse(b.slice(6)) as { type: string; delta?: string; attention?: number[]; caption?: string; attention_frames?: number });
    const tokens = events.filter((e) => e.type === 'caption.token');
    const done = events.at(-1)!;
    expect(done.type).toBe('caption.done');
    expect(done.attention_frames).toBe(manifest.video.frames);
    expect(tokens.map((e) => e.delta).join('')).toBe(done.caption);
    expect(done.caption).toBe(item.greedy);
    for (const t of tokens) expect(t.attention).toHaveLength(manifest.video.frames);
  });

  it('the OpenAI SDK vision input: an animated image_url, or several image_url parts as the frames', async () => {
    const openai = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const bytes = gif(item.video);
    const url = `data:image/gif;base64,${Buffer.from(bytes).toString('base64')}`;
    const one = await openai.chat.completions.create({
      model: 'video_caption',
      temperature: 0,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What happens?' },
            { type: 'image_url', image_url: { url } },
          ],
        },
      ],
    });
    const expected = (await post(gifForm(bytes))).json.caption;
    expect(one.choices[0].message.content).toBe(expected);
    const { delay = [] } = await sharp(bytes, { animated: true }).metadata();
    const unit = Math.min(...delay);
    const frames = (await framesOf(bytes)).flatMap((f, k) => Array.from({ length: Math.round(delay[k] / unit) }, () => f));
    const stream = await openai.chat.completions.create({
      model: 'video_caption',
      temperature: 0,
      stream: true,
      messages: [
        {
          role: 'user',
          content: frames.map((f) => ({ type: 'image_url' as const, image_url: { url: `data:image/png;base64,${f.toString('base64')}` } })),
        },
      ],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(expected);
  });

  it('KServe: the model-level infer takes a clip per image item', async () => {
    const items = sample.slice(0, 3);
    const res = await fetch(`${server.http}/v2/models/video_caption/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [items.length], data: items.map((i) => Buffer.from(gif(i.video)).toString('base64')) }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { name: string; data: string[] }[] };
    expect(body.outputs[0].data).toEqual(items.map((i) => i.greedy));
  });

  it('the client library captions a clip and a list of frames', async () => {
    const bytes = gif(item.video);
    const fromGif = await client.caption(bytes, { model: 'video_caption' });
    expect(fromGif.caption).toBe(item.greedy);
    const frames = await framesOf(bytes);
    const fromFrames = await client.captionFrames(
      frames.map((f) => new Uint8Array(f)),
      { model: 'video_caption' },
    );
    expect(fromFrames.caption.split(' ').length).toBeGreaterThan(2);
  });
});

describe('gRPC and the CLI', () => {
  it('seqserve.v1.Generation/Caption streams the caption of an animated GIF, and refuses a still picture', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    const item = sample[1];
    const ok = await serverStream<{ delta: string; caption: string; attention: number[] }>(stub, 'Caption', { image: Buffer.from(gif(item.video)), include_attention: true });
    expect(ok.error).toBeUndefined();
    expect(ok.messages.at(-1)!.caption).toBe(item.greedy);
    expect(ok.messages[0].attention).toHaveLength(manifest.video.frames);
    const still = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const bad = await serverStream(stub, 'Caption', { image: still });
    expect(bad.error).toMatchObject({ code: 3, details: expect.stringMatching(/^image: is a still picture/) });
    close();
  });

  it('seqserve caption takes an animated GIF', async () => {
    const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
    const item = sample[2];
    const { stdout } = await promisify(execFile)('node', [cli, '--url', server.http, 'caption', '-m', 'video_caption', path.join(SAMPLE_DIR, item.video)]);
    expect(stdout.trim()).toBe(item.greedy);
  });
});

describe('bad input', () => {
  const png = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();

  it('nothing to caption', async () => {
    const res = await post(JSON.stringify({ model: 'video_caption' }), { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe('image');
    const empty = await post(JSON.stringify({ frames: [] }), { 'content-type': 'application/json' });
    expect(empty.status).toBe(400);
    expect(empty.json.error.param).toBe('frames');
    expect(empty.json.error.message).toMatch(/no frames/);
  });

  it('a still picture is not a clip (the model says how many frames it takes)', async () => {
    const res = await post(gifForm(new Uint8Array(await png(64, 64))));
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe('image');
    expect(res.json.error.message).toMatch(/still picture.*2-256 frames/);
    const one = await post(framesForm([new Uint8Array(await png(64, 64))]));
    expect(one.status).toBe(400);
    expect(one.json.error.param).toBe('frames');
  });

  it(`too many frames (over video.maxFrames) and too many pixels (over --max-image-pixels, all frames together)`, async () => {
    const tiny = new Uint8Array(await png(4, 4));
    const many = await post(framesForm(Array.from({ length: manifest.video.maxFrames + 1 }, () => tiny)));
    expect(many.status).toBe(400);
    expect(many.json.error.param).toBe('frames');
    expect(many.json.error.message).toMatch(/at most 256/);
    const big = new Uint8Array(await png(200, 200));
    const pixels = await post(framesForm(Array.from({ length: 40 }, () => big)));
    expect(pixels.status).toBe(413);
    expect(pixels.json.error.param).toBe('frames');
    // frames that differ (a GIF encoder merges identical ones)
    const frames = await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        sharp({ create: { width: 200, height: 200, channels: 3, background: { r: (k * 37) % 256, g: (k * 91) % 256, b: 100 } } })
          .png()
          .toBuffer(),
      ),
    );
    const bigGif = await sharp(frames, { join: { animated: true } })
      .gif({ delay: frames.map(() => 100) })
      .toBuffer();
    const clip = await post(gifForm(new Uint8Array(bigGif)));
    expect(clip.status).toBe(413);
    expect(clip.json.error.param).toBe('image');
  });

  it('an empty or broken frame is named; frames of mixed sizes are taken (each stretched to the frame size)', async () => {
    const ok = new Uint8Array(await png(64, 64));
    const empty = await post(framesForm([ok, new Uint8Array(0), ok]));
    expect(empty.status).toBe(400);
    expect(empty.json.error.param).toBe('frames[1]');
    const broken = await post(framesForm([ok, ok, new Uint8Array([1, 2, 3, 4])]));
    expect(broken.status).toBe(400);
    expect(broken.json.error.param).toBe('frames[2]');
    const mixed = await post(framesForm([ok, new Uint8Array(await png(120, 80)), new Uint8Array(await png(32, 48))]));
    expect(mixed.status).toBe(200);
  });

  it('both image and frames are refused; health stays up', async () => {
    const form = framesForm([new Uint8Array(await png(64, 64)), new Uint8Array(await png(64, 64))]);
    form.append('image', new Blob([gif(sample[0].video) as Uint8Array<ArrayBuffer>]), 'clip.gif');
    const res = await post(form);
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe('frames');
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
  });
});
