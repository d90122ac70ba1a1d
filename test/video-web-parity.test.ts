/**
 * The video captioner in headless Chromium (Debian's, driven by playwright-core) through the web
 * client library (onnxruntime-web; the animated GIF read by WebCodecs' ImageDecoder and sampled by
 * the same core code as the server) against the server (onnxruntime-node, sharp): the same caption
 * and the same attention over frames for held-out sample clips, given as the GIF and as its frames;
 * the demo view captions a sample clip in both modes and draws the attention table. A screenshot of
 * the view goes to test-output/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { openDemoPage } from './helpers/demo-page.ts';
import { startTestServer } from './helpers/test-server.ts';

const OUT = path.join(import.meta.dirname, '..', 'test-output');
const MODEL_DIR = path.join(BUNDLED_MODELS_DIR, 'video_caption');
const SAMPLE_DIR = path.join(MODEL_DIR, 'heldout-sample');
const sample = readFileSync(path.join(SAMPLE_DIR, 'captions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { video: string; caption: string; greedy: string })
  .slice(0, 6);

interface PageToken {
  token: string;
  attention?: number[];
}

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let page: Page;
let client: SeqserveHttpClient;
let consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startTestServer({ modelsDir: BUNDLED_MODELS_DIR });
  client = new SeqserveHttpClient(server.http);
  ({ browser, page, consoleErrors } = await openDemoPage(server.http));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The page's caption of a clip (one animated image, or frames in order: base64 with their types) over onnxruntime-web. */
function inPage(files: { base64: string; type: string }[]): Promise<PageToken[]> {
  return page.evaluate(async (list) => {
    const { loadWebModel } = (window as unknown as { seqserve: { loadWebModel: (u: string, m: string) => Promise<unknown> } }).seqserve;
    const w = window as unknown as { video?: Promise<{ caption: (c: Blob | Blob[], o: object) => AsyncGenerator<PageToken> }> };
    w.video ??= loadWebModel(location.origin, 'video_caption') as never;
    const blobs = list.map((f) => new Blob([Uint8Array.from(atob(f.base64), (ch) => ch.charCodeAt(0))], { type: f.type }));
    const out: PageToken[] = [];
    for await (const t of (await w.video!).caption(blobs.length === 1 ? blobs[0] : blobs, { includeAttention: true })) out.push({ token: t.token, attention: t.attention });
    return out;
  }, files);
}

describe('video captions in the page (onnxruntime-web) vs the server (onnxruntime-node)', () => {
  it('the same caption and attention over frames for sample clips, as a GIF and as frames', async () => {
    for (const item of sample) {
      const gif = new Uint8Array(readFileSync(path.join(SAMPLE_DIR, item.video)));
      const expected = await client.caption(gif, { model: 'video_caption', include_attention: true });
      const fromGif = await inPage([{ base64: Buffer.from(gif).toString('base64'), type: 'image/gif' }]);
      expect(fromGif.map((t) => t.token).join(' '), item.video).toBe(expected.tokens.map((t) => t.token).join(' '));
      fromGif.forEach((t, i) => t.attention!.forEach((a, k) => expect(Math.abs(a - expected.tokens[i].attention![k]), `${item.video} ${i},${k}`).toBeLessThan(1e-3)));
      // the GIF's frames, each repeated as its delay says (a GIF merges identical consecutive frames)
      const { pages = 1, delay = [] } = await sharp(gif, { animated: true }).metadata();
      const unit = Math.min(...delay);
      const frames: { base64: string; type: string }[] = [];
      for (let k = 0; k < pages; k++) {
        const png = await sharp(gif, { page: k, pages: 1 }).png().toBuffer();
        for (let r = 0; r < Math.round(delay[k] / unit); r++) frames.push({ base64: png.toString('base64'), type: 'image/png' });
      }
      const fromFrames = await inPage(frames);
      expect(fromFrames.map((t) => t.token).join(' '), `${item.video} as frames`).toBe(expected.tokens.map((t) => t.token).join(' '));
    }
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('the demo view captions a sample clip in the page and on the server, with the attention table', async () => {
    for (const mode of ['page', 'server'] as const) {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click('#video-sample');
      await page.waitForFunction(() => !document.querySelector('section[aria-busy=true]') && (document.getElementById('video-out')!.textContent ?? '').length > 0, undefined, {
        timeout: 60_000,
      });
      expect((await page.locator('#video-out').textContent())!, mode).toMatch(/^an? /);
      expect(await page.locator('#video-attention table.heatmap tr').count(), mode).toBeGreaterThan(3);
      expect(await page.locator('#video-clip img').count(), mode).toBe(1);
    }
    await page.locator('#view-video').screenshot({ path: path.join(OUT, 'web-video-caption.png') });
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
