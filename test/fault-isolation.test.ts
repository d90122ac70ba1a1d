/**
 * Isolation of faults with a real ONNX Runtime error: a test fixture (test/fixtures/make_faulty_chat.py)
 * copies the bundled chat model with a decoder step that fails whenever it is fed one token. Requests
 * decoded in the same batch as the one that trips it get their normal replies; that request alone
 * fails with a clear error; the model keeps serving; and a broken model never stops the others.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { startTestServer } from './helpers/test-server.ts';

const POISON_WORD = 'shall';
const TRIPS = 'i want to fly from taipei to tokyo on march 3rd'; // "... shall i book it?": the step fed "shall" fails
const FINE = ['book a flight to boston for tomorrow morning', 'hello', 'cancel my booking', 'no thanks, that is all'];

let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-faults-'));
  cpSync(path.join(BUNDLED_MODELS_DIR, 'chat'), path.join(root, 'chat'), { recursive: true });
  const vocab = JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, 'chat', 'vocab.json'), 'utf8')) as string[];
  execFileSync('/usr/bin/python3', [
    path.join(import.meta.dirname, 'fixtures', 'make_faulty_chat.py'),
    path.join(BUNDLED_MODELS_DIR, 'chat'),
    path.join(root, 'faulty-chat'),
    String(vocab.indexOf(POISON_WORD)),
  ]);
  mkdirSync(path.join(root, 'broken'));
  writeFileSync(path.join(root, 'broken', 'manifest.json'), '{"name": "broken", "task": "chat"'); // not even JSON
  server = await startTestServer({ modelsDir: root });
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

async function metric(line: RegExp): Promise<number> {
  return Number(line.exec(await (await fetch(`${server.http}/metrics`)).text())?.[1] ?? 0);
}

/** Decoder iterations of faulty-chat: all, and those with more than one row. */
async function decoderIterations(): Promise<{ all: number; wide: number }> {
  const all = await metric(/^seqserve_batch_size_count\{model="faulty-chat\.decoder"\} (\d+)/m);
  const one = await metric(/^seqserve_batch_size_bucket\{le="1",model="faulty-chat\.decoder"\} (\d+)/m);
  return { all, wide: all - one };
}

const activeSequences = () => metric(/^seqserve_active_sequences\{model="faulty-chat"\} (\d+)/m);

async function chat(model: string, content: string, stream = false): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.http}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], temperature: 0, stream }),
  });
  return { status: res.status, text: await res.text() };
}
const reply = (r: { text: string }) => (JSON.parse(r.text) as { choices: { message: { content: string } }[] }).choices[0].message.content;

describe('fault isolation', () => {
  it('fails only the request whose step trips ONNX Runtime; its batch-mates get their normal replies', async () => {
    const expected = await Promise.all(FINE.map(async (p) => reply(await chat('chat', p))));
    const healthy = reply(await chat('chat', TRIPS));
    expect(healthy.split(/\W+/)).toContain(POISON_WORD); // the healthy model does say it

    // the engine runs in the model's executor thread: its decoder iterations show in the batch-size histogram
    const before = await decoderIterations();
    const [tripped, ...fine] = await Promise.all([chat('faulty-chat', TRIPS), ...FINE.map((p) => chat('faulty-chat', p))]);
    const streamed = await Promise.all([chat('faulty-chat', TRIPS, true), chat('faulty-chat', FINE[0], true)]);
    await expect.poll(async () => (await decoderIterations()).wide - before.wide).toBeGreaterThan(0); // they were decoded together

    expect(tripped.status).toBe(500);
    const error = (JSON.parse(tripped.text) as { error: { message: string; type: string } }).error;
    expect(error.type).toBe('server_error');
    expect(error.message).toMatch(/out of (data )?bounds/i);
    expect(error.message).not.toMatch(/\n\s+at /); // no stack trace
    expect(fine.map((r) => r.status)).toEqual(FINE.map(() => 200));
    expect(fine.map(reply)).toEqual(expected);

    // streamed: the failing one ends with an error event, the other completes
    expect(streamed[0].text).toMatch(/"error"/);
    expect(streamed[1].text).toContain('[DONE]');
    await expect.poll(activeSequences).toBe(0);
    // the model keeps serving
    expect(reply(await chat('faulty-chat', FINE[1]))).toBe(expected[1]);
  }, 60_000);

  it('a model that cannot load is reported, and the others serve', async () => {
    const index = (await (await fetch(`${server.http}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
    expect(index.find((m) => m.name === 'broken')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/manifest\.json/) });
    expect((await chat('chat', 'hello')).status).toBe(200);
    const res = await chat('broken', 'hello');
    expect(res.status).toBe(503); // unavailable: it failed to load; the message says why
    expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(/broken/);
  });
});
