/**
 * The web demo and client library in headless Chromium (Debian's, driven by playwright-core): the
 * page loads cross-origin isolated with no console errors; in-page chat (onnxruntime-web) streams
 * the server's greedy reply; in-page slot filling equals the server's; both modes work from the UI.
 * Screenshots go to test-output/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
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

  it('works from the UI in both modes', async () => {
    const reply = (await new SeqserveHttpClient(server.http).chat([{ role: 'user', content: PROMPT }], { temperature: 0 })).text;
    for (const mode of ['page', 'server']) {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click('#chat-form button');
      await page.waitForFunction((want) => document.getElementById('chat-log')!.textContent === want, reply, { timeout: 30_000 });
      await page.click('#slots-form button');
      await page.waitForSelector('#slots-out mark.slot', { timeout: 30_000 });
      await page.screenshot({ path: path.join(OUT, `web-${mode}.png`), fullPage: true });
      await page.evaluate(() => (document.getElementById('slots-out')!.textContent = ''));
    }
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
