/**
 * Every server-sent-events stream goes through one adapter: it carries the same CORS and request-id
 * headers as a JSON reply (checked with fetch and from a page on another origin in Chromium), and a
 * stream that fails ends with the one in-stream error event, which the `openai` SDK and seqserve's
 * client library raise instead of ending quietly with a truncated result.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient, SeqserveHttpError } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import type { TensorMap } from '../server/core/graph-runner.ts';
import { CHROMIUM } from './helpers/demo-page.ts';
import { startTestServer } from './helpers/test-server.ts';
import { DEFAULT_CONFIG } from '../server/config.ts';

const WAV = readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', '000.wav'));
const PNG = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png'));

let server: Awaited<ReturnType<typeof startTestServer>>;
let page: Server; // a page of another origin that calls seqserve
let pageOrigin: string;

beforeAll(async () => {
  page = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another origin</title>'));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  server = await startTestServer({ corsOrigins: [pageOrigin] });
});
afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => page?.close(resolve));
});

function form(fields: Record<string, string | Blob>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

const STREAMS: { name: string; path: string; body: () => BodyInit; headers?: Record<string, string> }[] = [
  {
    name: 'chat',
    path: '/v1/chat/completions',
    body: () => JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], stream: true, max_tokens: 4 }),
    headers: { 'content-type': 'application/json' },
  },
  { name: 'captions', path: '/v1/captions', body: () => form({ image: new Blob([PNG]), stream: 'true', max_tokens: '4' }) },
  { name: 'transcriptions', path: '/v1/audio/transcriptions', body: () => form({ file: new Blob([WAV]), stream: 'true', decoder: 'greedy' }) },
  { name: 'spoken QA', path: '/v1/speech-qa', body: () => new FormData() },
];
// spoken QA takes 2-4 choices
STREAMS[3].body = () => {
  const f = form({ story: new Blob([WAV]), question: 'where is mary', stream: 'true' });
  f.append('choices[]', 'the kitchen');
  f.append('choices[]', 'the garden');
  return f;
};

describe('server-sent events', () => {
  it.each(STREAMS)('$name: a stream carries the CORS and request-id headers a JSON reply does', async ({ path: p, body, headers }) => {
    const res = await fetch(`${server.http}${p}`, { method: 'POST', body: body(), headers: { ...headers, origin: pageOrigin } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('access-control-allow-origin')).toBe(pageOrigin);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const text = await res.text();
    expect(text).toMatch(/^data: /);
    expect(text).not.toMatch(/"type":"error"/);
  });

  it('a page on another (allowed) origin reads every stream in Chromium', async () => {
    const browser: Browser = await chromium.launch(CHROMIUM);
    try {
      const tab = await browser.newPage();
      await tab.goto(`${pageOrigin}/`);
      const results = await tab.evaluate(
        async ({ base, wav, png }) => {
          const bytes = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
          const read = async (p: string, init: RequestInit) => {
            const res = await fetch(base + p, { method: 'POST', ...init });
            const reader = res.body!.getReader();
            let events = 0;
            const decoder = new TextDecoder();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              events += (decoder.decode(value).match(/^data: /gm) ?? []).length;
            }
            return { status: res.status, events, requestId: res.headers.get('x-request-id') };
          };
          const f = (fields: [string, string | Blob][]) => {
            const d = new FormData();
            for (const [k, v] of fields) d.append(k, v);
            return d;
          };
          return {
            chat: await read('/v1/chat/completions', {
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], stream: true, max_tokens: 4 }),
            }),
            captions: await read('/v1/captions', {
              body: f([
                ['image', new Blob([bytes(png)])],
                ['stream', 'true'],
                ['max_tokens', '4'],
              ]),
            }),
            transcriptions: await read('/v1/audio/transcriptions', {
              body: f([
                ['file', new Blob([bytes(wav)])],
                ['stream', 'true'],
                ['decoder', 'greedy'],
              ]),
            }),
            qa: await read('/v1/speech-qa', {
              body: f([
                ['story', new Blob([bytes(wav)])],
                ['question', 'where is mary'],
                ['choices[]', 'the kitchen'],
                ['choices[]', 'the garden'],
                ['stream', 'true'],
              ]),
            }),
          };
        },
        { base: server.http, wav: WAV.toString('base64'), png: PNG.toString('base64') },
      );
      for (const r of Object.values(results)) {
        expect(r.status).toBe(200);
        expect(r.events).toBeGreaterThan(1);
        expect(r.requestId).toBeTruthy(); // readable cross-origin: exposed by the CORS headers
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  describe('a stream that fails', () => {
    // failures are injected into this thread's graphs: a server whose task calls run here (executor
    // threads' own failures reach streams the same way: test/fault-isolation.test.ts, test/executors.test.ts)
    let server: Awaited<ReturnType<typeof startTestServer>>;
    beforeAll(async () => {
      server = await startTestServer({ runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'], executors: false } });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
    });

    /** Makes a graph fail from its `after`-th run on, until the returned function is called. */
    function breakGraph(name: string, after: number): () => void {
      const graph = server.context.repository.graph(name);
      const run = graph.run.bind(graph);
      let calls = 0;
      graph.run = (feeds: TensorMap, outputs?: readonly string[]) => (++calls > after ? Promise.reject(new Error('injected failure')) : run(feeds, outputs));
      return () => {
        graph.run = run;
      };
    }

    it('transcription: the openai SDK and the client library raise the error instead of a truncated text', async () => {
      const restore = breakGraph('asr.acoustic', 2);
      try {
        const raw = await (
          await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form({ file: new Blob([WAV]), stream: 'true', decoder: 'greedy' }) })
        ).text();
        const last = JSON.parse(raw.trim().split('\n\n').at(-1)!.slice('data: '.length)) as {
          type: string;
          error: { message: string; type: string; code: string; param: unknown };
        };
        expect(last).toMatchObject({ type: 'error', error: { type: 'server_error', code: 'internal', param: null } });
        expect(raw).not.toMatch(/transcript\.text\.done/);

        const openai = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'unused', maxRetries: 0 });
        const stream = await openai.audio.transcriptions.create({ file: await toFile(WAV, 'a.wav'), model: 'asr', stream: true });
        await expect(
          (async () => {
            for await (const event of stream) void event;
          })(),
        ).rejects.toThrow(/injected failure/);

        const client = new SeqserveHttpClient(server.http);
        await expect(
          (async () => {
            for await (const event of client.transcribeStream(WAV)) void event;
          })(),
        ).rejects.toBeInstanceOf(SeqserveHttpError);
      } finally {
        restore();
      }
      // and the server goes on transcribing
      const ok = await (await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', body: form({ file: new Blob([WAV]), decoder: 'greedy' }) })).json();
      expect((ok as { text: string }).text.length).toBeGreaterThan(0);
    });

    it('chat: the openai SDK raises the error event', async () => {
      const restore = breakGraph('chat.decoder', 1);
      try {
        const openai = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'unused', maxRetries: 0 });
        const stream = await openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }], stream: true, max_tokens: 8 });
        await expect(
          (async () => {
            for await (const chunk of stream) void chunk;
          })(),
        ).rejects.toThrow(/injected failure|failed/);
      } finally {
        restore();
      }
    });
  });
});
