/**
 * The web demo and client library in headless Chromium (Debian's, driven by playwright-core): the
 * page loads cross-origin isolated with no console errors; in-page chat (onnxruntime-web) streams
 * the server's greedy reply; in-page slot filling and captioning equal the server's; both modes work
 * from the UI.
 * Screenshots go to test-output/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { startTestServer } from './helpers/test-server.ts';

const OUT = path.join(import.meta.dirname, '..', 'test-output');
const PROMPT = 'i want to fly from taipei to tokyo on march 3rd';
const SENTENCE = 'I would like to arrive Taipei on November 2nd';

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startTestServer();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${server.http}/`);
  await page.waitForSelector('body[data-ready=true]');
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('web demo and client library (Chromium)', () => {
  it('loads cross-origin isolated, with no console errors', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.title()).toBe('seqserve');
    expect(consoleErrors).toEqual([]);
  });

  it('chats in the page with the same greedy reply as the server', async () => {
    const server_ = (await new SeqserveHttpClient(server.http).chat([{ role: 'user', content: PROMPT }], { temperature: 0 })).text;
    const deltas = await page.evaluate(async (prompt) => {
      const { loadWebModel } = (window as unknown as { seqserve: { loadWebModel: (u: string, m: string) => Promise<{ chat: (m: object[], o: object) => AsyncIterable<string> }> } }).seqserve;
      const model = await loadWebModel(location.origin, 'chat');
      const out: string[] = [];
      for await (const d of model.chat([{ role: 'user', content: prompt }], { temperature: 0 })) out.push(d);
      return out;
    }, PROMPT);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(server_);
  }, 60_000);

  it('fills slots in the page as the server does', async () => {
    const expected = await new SeqserveHttpClient(server.http).slots(SENTENCE);
    const got = await page.evaluate(async (text) => {
      const { loadWebModel } = (window as unknown as { seqserve: { loadWebModel: (u: string, m: string) => Promise<{ slots: (t: string) => Promise<{ slots: { name: string; value: string }[] }> }> } }).seqserve;
      return (await (await loadWebModel(location.origin, 'slots')).slots(text)).slots.map((s) => [s.name, s.value]);
    }, SENTENCE);
    expect(got).toEqual(expected.slots.map((s) => [s.name, s.value]));
    expect(got.length).toBeGreaterThan(0);
  }, 60_000);

  it('captions an image in the page as the server does', async () => {
    const png = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png'));
    const expected = (await new SeqserveHttpClient(server.http).caption(new Uint8Array(png))).caption;
    const got = await page.evaluate(async () => {
      const { loadWebModel } = (window as unknown as { seqserve: { loadWebModel: (u: string, m: string) => Promise<{ caption: (b: Blob) => AsyncIterable<{ delta: string }> }> } }).seqserve;
      const blob = await (await fetch('/v1/models/caption/files/heldout-sample/000.png')).blob();
      let text = '';
      for await (const t of (await loadWebModel(location.origin, 'caption')).caption(blob)) text += t.delta;
      return text;
    });
    expect(got).toBe(expected);
  }, 60_000);

  it('works from the UI in both modes', async () => {
    const png = path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '001.png');
    const caption = (await new SeqserveHttpClient(server.http).caption(new Uint8Array(readFileSync(png)))).caption;
    const reply = (await new SeqserveHttpClient(server.http).chat([{ role: 'user', content: PROMPT }], { temperature: 0 })).text;
    for (const mode of ['page', 'server']) {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click('#chat-form button');
      await page.waitForFunction((want) => document.getElementById('chat-log')!.textContent === want, reply, { timeout: 30_000 });
      await page.click('#slots-form button');
      await page.waitForSelector('#slots-out mark.slot', { timeout: 30_000 });
      await page.setInputFiles('#caption-file', png);
      await page.evaluate(() => (document.getElementById('caption-out')!.textContent = ''));
      await page.click('#caption-form button');
      await page.waitForFunction((want) => document.getElementById('caption-out')!.textContent === want, caption, { timeout: 30_000 });
      await page.screenshot({ path: path.join(OUT, `web-${mode}.png`), fullPage: true });
      await page.evaluate(() => (document.getElementById('slots-out')!.textContent = ''));
    }
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
