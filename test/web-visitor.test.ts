/**
 * The demo page as a visitor meets it (issue 23), in headless Chromium at a desktop width and at a
 * 390 px phone width, in both modes: every view is tried with the samples the page provides and
 * screenshotted (test-output/web-visit-<view>-<mode>-<width>.png); no element is wider than its
 * column, every input is labelled, every view says what its model does and links its model card,
 * the samples are there (the recognition sample's player and reference text, the spoken-QA sample
 * story and question); the attention pictures have a colour scale and the chat's token markers are
 * readable; slot colours differ and are legible; a model download shows its progress and the view's
 * buttons are disabled while it runs; a server that cannot be reached is explained with the raw
 * detail kept; the captioner's view lists what it knows (`knows` from GET /v1/models/caption, a
 * neutral line without it); the microphone view shows a level meter and clears the old waveform
 * while listening; a silent recording says that nothing was recognised.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { characterErrors } from '../server/core/text/edit-distance.ts';
import { CHROMIUM } from './helpers/demo-page.ts';
import { startTestServer } from './helpers/test-server.ts';

const OUT = path.join(import.meta.dirname, '..', 'test-output');
const ASR_SAMPLE = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', '000.wav');
const VIEWS = ['chat', 'speech', 'caption', 'video', 'vqa', 'qa', 'search', 'slots', 'classify', 'g2p'] as const;
const WIDTHS = { desktop: 1000, phone: 390 } as const;

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startTestServer();
  browser = await chromium.launch(CHROMIUM);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(width: number, init?: (p: Page) => Promise<void>): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await init?.(page);
  await page.goto(`${server.http}/`);
  await page.waitForSelector('body[data-ready=true]');
  return { page, errors };
}

/** Waits until no view runs anything and the status bar is idle. */
const idle = (page: Page, timeout = 90_000) =>
  page.waitForFunction(() => document.getElementById('status-bar')!.getAttribute('aria-busy') === 'false' && !document.querySelector('section[aria-busy=true]'), undefined, {
    timeout,
  });

/** Elements that stick out of their view's column (not inside a container that scrolls or clips them). */
const overflowing = (page: Page) =>
  page.evaluate(() => {
    const out: string[] = [];
    for (const column of Array.from(document.querySelectorAll('section, fieldset, nav, #status-bar'))) {
      const box = column.getBoundingClientRect();
      for (const e of Array.from(column.querySelectorAll('*'))) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        let clipped = false;
        for (let a = e.parentElement; a && a !== column; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') clipped = true;
        if (!clipped && (r.right > box.right + 1 || r.left < box.left - 1))
          out.push(`#${column.id} ${e.tagName.toLowerCase()}#${e.id} ${Math.round(r.left)}–${Math.round(r.right)} px`);
      }
    }
    return out;
  });

/** Inputs with no label: no <label>, aria-label or aria-labelledby. */
const unlabelled = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea'))
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')))
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}`),
  );

/** WCAG contrast ratio of two #rrggbb or rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : c.match(/\d+/g)!.slice(0, 3).map(Number);
    const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(bl);
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe('the demo page as a visitor meets it', () => {
  for (const [device, width] of Object.entries(WIDTHS)) {
    for (const mode of ['page', 'server'] as const) {
      it(`every view tried with its samples, ${mode === 'page' ? 'in the page' : 'on the server'}, at ${device} width (${width} px)`, async () => {
        const { page, errors } = await open(width);
        try {
          await page.check(`input[name=mode][value=${mode}]`);
          expect(await unlabelled(page)).toEqual([]);
          for (const v of VIEWS) {
            // every view says what its model does and links its model card
            expect((await page.locator(`#view-${v} .about`).textContent())!.length).toBeGreaterThan(80);
            const card = await page.locator(`#view-${v} .about a`).getAttribute('href');
            expect(card).toMatch(/^\/v1\/models\/\w+\/files\/README\.md$/);
            expect((await page.request.get(`${server.http}${card}`)).status()).toBe(200);
          }

          await page.click('#chat-form button');
          await idle(page);
          expect((await page.locator('#chat-log').textContent())!.length).toBeGreaterThan(5);
          // no internal token markers in the attention table's headers; a colour scale; the markers explained
          const headers = await page.locator('#chat-attention th').allTextContents();
          expect(headers.filter((h) => /^[@#<]/.test(h))).toEqual([]);
          expect(headers).toContain('you:');
          expect(await page.locator('#chat-attention th.spelled').count()).toBeGreaterThan(3);
          expect(await page.locator('#chat-attention .scale .ramp').count()).toBe(1);
          expect(await page.locator('#chat-attention .note').textContent()).toMatch(/letter by letter/);

          await page.click('#speech-sample');
          await idle(page);
          expect(await page.locator('#speech-sample-pick option').count()).toBe(40);
          expect(await page.locator('#speech-player').isVisible()).toBe(true);
          expect(await page.locator('#speech-player').getAttribute('src')).toMatch(/^blob:/);
          const transcripts = readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', 'transcripts.jsonl'), 'utf8');
          const reference = (JSON.parse(transcripts.split('\n')[0]) as { text: string }).text;
          expect(await page.locator('#speech-reference').textContent()).toContain(reference);
          expect(await page.locator('#speech-score').textContent()).toMatch(/^Word error rate against the reference: \d+ % \(\d+ word errors in \d+ words\)\.$/);

          await page.click('#caption-sample');
          await idle(page);
          expect((await page.locator('#caption-out').textContent())!).toMatch(/^a /);
          expect(await page.locator('#caption-image').isVisible()).toBe(true);
          expect(await page.locator('#caption-attention .scale .ramp').count()).toBe(1);
          expect((await page.locator('#caption-knows').textContent())!.length).toBeGreaterThan(20);

          // a sample clip captioned, its frames shown; a sample question about a picture answered, with its top answers
          await page.click('#video-sample');
          await idle(page);
          expect((await page.locator('#video-out').textContent())!).toMatch(/^an? /);
          await page.click('#vqa-sample');
          await idle(page);
          expect((await page.locator('#vqa-out').textContent())!.trim().length).toBeGreaterThan(0);
          expect(await page.locator('#vqa-answers li').count()).toBeGreaterThan(1);
          expect(await page.locator('#vqa-image').isVisible()).toBe(true);

          // the spoken-QA sample: its story and spoken question, what they say, and which question was used
          await page.click('#qa-sample');
          await idle(page);
          const sample = JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, 'speech_qa', 'demo-sample', 'sample.json'), 'utf8')) as {
            from: string;
            sentences: string[];
            question_text: string;
            choices: string[];
            answer: string;
          };
          const line = Number(/line (\d+)/.exec(sample.from)?.[1]);
          const recorded = readFileSync(path.join(BUNDLED_MODELS_DIR, 'speech_qa', 'heldout-sample.jsonl'), 'utf8').split('\n')[line - 1];
          const recipeHeard = (JSON.parse(recorded) as { recipe: { transcript: string } }).recipe.transcript.replace(/\.$/, '').split('. ');
          expect(await page.locator('#qa-sample-text').textContent()).toContain(sample.sentences[0]);
          expect(await page.locator('#qa-story-player').isVisible()).toBe(true);
          expect(await page.locator('#qa-question-player').isVisible()).toBe(true);
          expect(await page.locator('#qa-ask-spoken').isChecked()).toBe(true);
          await page.click('#qa-form button');
          await idle(page);
          expect(await page.locator('#qa-question-text').textContent()).toMatch(/^Question used: the spoken one, heard as “.+”$/);
          expect(await page.locator('#qa-choices-out li.chosen').textContent()).toContain(sample.answer);
          // one item per story sentence, as the recipe heard them through the server (heldout-sample.jsonl's
          // `recipe.transcript`; the recognizer's misspellings included, "mere" for "mary"), within a letter or two
          const heard = await page.locator('#qa-sentences li').allTextContents();
          expect(heard).toHaveLength(sample.sentences.length);
          heard.forEach((h, i) => expect(characterErrors(recipeHeard[i], h)).toBeLessThanOrEqual(2));
          // one row per sentence, wrapped inside the column
          expect(await page.locator('#qa-hops tr').count()).toBe(sample.sentences.length + 1);
          expect(await page.locator('#qa-hops .scale .ramp').count()).toBe(1);
          const hops = (await page.locator('#qa-hops table').boundingBox())!;
          const column = (await page.locator('#view-qa').boundingBox())!;
          expect(hops.x + hops.width).toBeLessThanOrEqual(column.x + column.width + 1);

          // spoken term search: a sample word searched in the bundled spoken documents, hits listed
          await page.click('#search-sample');
          await idle(page);
          expect(await page.locator('#search-docs li').count()).toBe(3);
          await page.click('#search-go');
          await idle(page);
          expect(await page.locator('#search-hits li').count()).toBeGreaterThan(0);
          expect(await page.locator('#search-hits li').first().textContent()).toMatch(/document-\d \d+\.\d\d–\d+\.\d\d s, score /);

          await page.click('#slots-form button');
          await idle(page);
          await page.click('#classify-form button');
          await idle(page);
          expect(await page.locator('#classify-scale .scale .ramp').count()).toBe(1);
          await page.click('#g2p-form button');
          await idle(page);
          expect(await page.locator('#g2p-attention .scale .ramp').count()).toBe(1);

          expect(await page.locator('#status').textContent()).toBe('');
          expect(await overflowing(page)).toEqual([]);
          for (const v of VIEWS) await page.locator(`#view-${v}`).screenshot({ path: path.join(OUT, `web-visit-${v}-${mode}-${width}.png`) });
          await page.screenshot({ path: path.join(OUT, `web-visit-${mode}-${width}.png`), fullPage: true });

          // asking the typed question instead says so
          await page.check('#qa-ask-typed');
          await page.click('#qa-form button');
          await idle(page);
          expect(await page.locator('#qa-question-text').textContent()).toBe(`Question used: the typed one, “${sample.question_text}”`);
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      }, 240_000);
    }
  }
});

describe('demo page details', () => {
  it('slot colours differ within a sentence, with swatches, and the text on them is legible', async () => {
    const { page } = await open(WIDTHS.desktop);
    try {
      await page.check('input[name=mode][value=server]');
      await page.fill('#slots-input', 'show me flights from boston to denver on monday morning on united in first class');
      await page.click('#slots-form button');
      await idle(page);
      const marks = await page
        .locator('#slots-out mark.slot')
        .evaluateAll((ms: HTMLElement[]) => ms.map((m) => [m.title.split(' ')[0].replace(/,$/, ''), getComputedStyle(m).backgroundColor, getComputedStyle(m).color]));
      const names = new Set(marks.map(([name]) => name));
      expect(names.size).toBeGreaterThanOrEqual(4);
      const colourOf = new Map(marks.map(([name, bg]) => [name, bg]));
      expect(new Set(colourOf.values()).size).toBe(names.size);
      for (const [, bg, fg] of marks) expect(contrast(bg, fg)).toBeGreaterThanOrEqual(7);
      const swatches = await page.locator('#slots-legend .swatch').evaluateAll((s) => s.map((e) => getComputedStyle(e).backgroundColor));
      expect(swatches).toEqual(marks.map(([, bg]) => bg));
    } finally {
      await page.close();
    }
  }, 60_000);

  it("a model's download shows its progress, and the view's buttons wait for the run", async () => {
    const context = await browser.newContext({ viewport: { width: WIDTHS.phone, height: 800 } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // the tagger graph's answer is held back until the test has seen the page during the download
    await context.route('**/v1/models/slots/files/tagger.onnx', async (route) => {
      const res = await route.fetch();
      await held;
      await route.fulfill({ response: res });
    });
    try {
      const page = await context.newPage();
      await page.goto(`${server.http}/`);
      await page.waitForSelector('body[data-ready=true]');
      await page.click('#slots-form button');
      await page.waitForFunction(() => /downloading the slots model into the page \(tagger\.onnx/.test(document.getElementById('status')!.textContent ?? ''), undefined, {
        timeout: 30_000,
      });
      expect(await page.locator('#status-progress').isVisible()).toBe(true);
      expect(await page.locator('#status-spinner').isVisible()).toBe(true);
      expect(await page.locator('#status-bar').isVisible()).toBe(true);
      expect(await page.locator('#slots-form button').isDisabled()).toBe(true);
      expect(await page.locator('#view-slots').getAttribute('aria-busy')).toBe('true');
      await page.screenshot({ path: path.join(OUT, 'web-visit-download-390.png') });
      release();
      await page.waitForSelector('#slots-out mark.slot', { timeout: 30_000 });
      await idle(page);
      expect(await page.locator('#slots-form button').isEnabled()).toBe(true);
      expect(await page.locator('#status-progress').isVisible()).toBe(false);
      expect(await page.locator('#status-spinner').isVisible()).toBe(false);
    } finally {
      release();
      await context.close();
    }
  }, 60_000);

  it('a server that cannot be reached is explained, with the raw error kept under details', async () => {
    const { page } = await open(WIDTHS.desktop, async (p) => void (await p.route('**/v1/chat/completions', (route) => route.abort('internetdisconnected'))));
    try {
      await page.check('input[name=mode][value=server]');
      await page.click('#chat-form button');
      await idle(page);
      const text = (await page.locator('#status').textContent())!;
      expect(text).toMatch(/^chat failed: the server at http:\/\/127\.0\.0\.1:\d+ could not be reached\. Check that seqserve is still running/);
      expect(text).not.toMatch(/Failed to fetch/);
      expect(await page.locator('#status-detail').isVisible()).toBe(true);
      expect(await page.locator('#status-detail-text').textContent()).toMatch(/Failed to fetch/);
      expect(await page.locator('#chat-form button').isEnabled()).toBe(true);
      // the message can be dismissed
      await page.click('#status-dismiss');
      expect(await page.locator('#status').textContent()).toBe('');
      expect(await page.locator('#status-detail').isVisible()).toBe(false);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("a request the server refuses says so, with the server's reason", async () => {
    const { page } = await open(WIDTHS.desktop);
    try {
      await page.check('input[name=mode][value=server]');
      await page.fill('#slots-input', ' ');
      await page.click('#slots-form button');
      await idle(page);
      expect(await page.locator('#status').textContent()).toBe('slot filling failed: the server refused the request (HTTP 400: text: must not be empty)');
    } finally {
      await page.close();
    }
  }, 60_000);

  it("the captioner's view lists what it knows when /v1/models/caption says, and a neutral line when not", async () => {
    const knows = { shapes: ['circle', 'square'], colours: ['red', 'blue'], relations: ['above', 'left of'] };
    const answer = (body: object) => async (p: Page) =>
      void (await p.route('**/v1/models/caption', (route) => route.fulfill({ json: { id: 'caption', object: 'model', task: 'caption', ...body } })));
    const { page } = await open(WIDTHS.desktop, answer({ knows }));
    try {
      await page.waitForSelector('#caption-knows dl');
      expect(await page.locator('#caption-knows dt').allTextContents()).toEqual(['shapes', 'colours', 'relations']);
      expect(await page.locator('#caption-knows dd').allTextContents()).toEqual(['circle, square', 'red, blue', 'above, left of']);
      expect(await page.locator('#view-caption .about').textContent()).toMatch(/a photo becomes a caption about shapes/);
    } finally {
      await page.close();
    }
    const without = await open(WIDTHS.desktop, answer({}));
    try {
      await without.page.waitForFunction(() => (document.getElementById('caption-knows')!.textContent ?? '').length > 0);
      expect(await without.page.locator('#caption-knows').textContent()).toBe('The captioner does not list the words it knows; its model card describes its scenes.');
    } finally {
      await without.page.close();
    }
  }, 60_000);

  it('a silent recording says that nothing was recognised', async () => {
    const silent = path.join(OUT, 'web-visit-silence.wav');
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 16000, '16', new Int16Array(16000 * 2));
    writeFileSync(silent, wav.toBuffer());
    const { page } = await open(WIDTHS.desktop);
    try {
      for (const mode of ['page', 'server'] as const) {
        await page.check(`input[name=mode][value=${mode}]`);
        await page.setInputFiles('#speech-file', silent);
        expect(await page.locator('#speech-player').isVisible()).toBe(true);
        await page.click('#speech-form button');
        await idle(page);
        expect(await page.locator('#speech-final').textContent()).toBe('');
        expect(await page.locator('#speech-score').textContent()).toMatch(/^Nothing was recognised/);
        // a file of the visitor's has no reference text
        expect(await page.locator('#speech-reference').isVisible()).toBe(false);
      }
    } finally {
      await page.close();
    }
  }, 60_000);

  it('the microphone view shows the input level and clears the last waveform while listening', async () => {
    const fake = await chromium.launch({
      ...CHROMIUM,
      args: [...CHROMIUM.args, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${ASR_SAMPLE}`],
    });
    try {
      const page = await fake.newPage();
      await page.goto(`${server.http}/`);
      await page.waitForSelector('body[data-ready=true]');
      await page.check('input[name=mode][value=server]');
      await page.click('#speech-sample');
      await idle(page);
      expect(await page.locator('#speech-wave').getAttribute('aria-label')).toMatch(/^waveform, [\d.]+ s: \w/);
      await page.click('#speech-mic');
      await page.waitForFunction(() => document.getElementById('speech-mic')!.getAttribute('aria-pressed') === 'true', undefined, { timeout: 30_000 });
      expect(await page.locator('#speech-wave').getAttribute('aria-label')).toBe('waveform: listening…');
      expect(await page.locator('#speech-player').isVisible()).toBe(false);
      expect(await page.locator('#speech-sample').isDisabled()).toBe(true);
      await page.waitForFunction(() => (document.getElementById('speech-level') as HTMLMeterElement).value > 0.2, undefined, { timeout: 15_000 });
      await page.click('#speech-mic');
      await idle(page);
      expect(await page.locator('#speech-level').evaluate((m) => (m as HTMLMeterElement).value)).toBe(0);
      expect(await page.locator('#speech-player').isVisible()).toBe(true);
      expect(await page.locator('#speech-sample').isEnabled()).toBe(true);
    } finally {
      await fake.close();
    }
  }, 60_000);
});
