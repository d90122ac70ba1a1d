/**
 * The g2p model in headless Chromium (Debian's, driven by playwright-core) through the web client
 * library (onnxruntime-web, the same text2text task code as the server) against the server
 * (onnxruntime-node): every word of the committed held-out sample gives the same greedy and beam
 * pronunciations, with the same attention alignment; the demo view shows each pronunciation and its
 * phonemes × letters table in both modes. A screenshot of the view goes to test-output/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient, type CompletionChoice } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { openDemoPage } from './helpers/demo-page.ts';
import { startTestServer } from './helpers/test-server.ts';

const OUT = path.join(import.meta.dirname, '..', 'test-output');
const words = readFileSync(path.join(BUNDLED_MODELS_DIR, 'g2p', 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { word: string }).word);

interface PageChoice {
  text: string;
  index: number;
  attention?: { source_tokens: string[]; output_tokens: string[]; weights: number[][] };
}

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let page: Page;
let client: SeqserveHttpClient;
let consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startTestServer();
  client = new SeqserveHttpClient(server.http);
  ({ browser, page, consoleErrors } = await openDemoPage(server.http));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The page's complete() over onnxruntime-web (sessions in the page's worker, as the demo loads them). */
function inPage(prompts: string[], options: object): Promise<PageChoice[]> {
  return page.evaluate(
    async ([p, o]) => {
      const { loadWebModel } = (window as unknown as { seqserve: { loadWebModel: (u: string, m: string, o?: object) => Promise<unknown> } }).seqserve;
      const w = window as unknown as { g2p?: Promise<{ complete: (p: string[], o: object) => Promise<PageChoice[]> }> };
      w.g2p ??= loadWebModel(location.origin, 'g2p', { worker: true }) as never;
      return (await w.g2p!).complete(p, o);
    },
    [prompts, options] as const,
  );
}

function sameAlignment(a: CompletionChoice['attention'], b: PageChoice['attention'], word: string): void {
  expect(b?.source_tokens, word).toEqual(a?.source_tokens);
  expect(b?.output_tokens, word).toEqual(a?.output_tokens);
  a!.weights.forEach((row, i) => row.forEach((w, j) => expect(Math.abs(w - b!.weights[i][j]), `${word} ${i},${j}`).toBeLessThan(1e-4)));
}

describe('text2text in the page (onnxruntime-web) vs the server (onnxruntime-node)', () => {
  for (const [label, options] of [
    ['greedy', {}],
    ['beam 5', { bestOf: 5 }],
  ] as const) {
    it(`${label}: the same pronunciation and alignment for every held-out sample word`, async () => {
      for (let k = 0; k < words.length; k += 50) {
        const batch = words.slice(k, k + 50);
        const expected = await client.complete(batch, { ...options, attention: true });
        const got = await inPage(batch, { include_attention: true, ...('bestOf' in options ? { best_of: options.bestOf } : {}) });
        expect(got.map((c) => c.text)).toEqual(expected.map((c) => c.text));
        expected.forEach((c, i) => sameAlignment(c.attention, got[i].attention, batch[i]));
      }
    }, 120_000);
  }

  it('refuses a word outside the alphabet in the page as the server does', async () => {
    const message = await page.evaluate(async () => {
      const w = window as unknown as { g2p: Promise<{ complete: (p: string[], o: object) => Promise<unknown> }> };
      return (await w.g2p).complete(['ok', 'nope!'], {}).then(
        () => 'no error',
        (e: Error) => e.message,
      );
    });
    expect(message).toMatch(/outside the model's alphabet: "!"/);
  });

  for (const mode of ['page', 'server'] as const) {
    it(`the demo view pronounces words ${mode === 'page' ? 'in the page' : 'on the server'} and draws the phonemes × letters alignment`, async () => {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.fill('#g2p-input', 'taipei kathmandu');
      await page.click('#g2p-form button');
      await page.waitForFunction(() => document.querySelectorAll('#g2p-attention table.heatmap').length === 2, undefined, { timeout: 30_000 });
      const expected = (await client.complete(['taipei', 'kathmandu'])).map((c) => c.text);
      expect(expected[0]).toBe('T AY1 P EY2');
      expect(await page.locator('#g2p-out').innerText()).toBe(`taipei  ${expected[0]}\nkathmandu  ${expected[1]}`);
      // taipei: a header row of 6 letters, then 4 phoneme rows of 6 cells
      const first = page.locator('#g2p-attention table.heatmap').first();
      expect(await first.locator('tr').count()).toBe(5);
      expect(await first.locator('tr').nth(1).locator('td').count()).toBe(6);
      await page.locator('#view-g2p').screenshot({ path: path.join(OUT, `web-g2p-${mode}.png`) });
      expect(consoleErrors).toEqual([]);
    }, 60_000);
  }
});
