/**
 * Triton's generate extension (issue 19) through the real server: `generate` and `generate_stream`
 * on the chat model give the reply `/v1/chat/completions` gives for the same message and parameters;
 * bad parameters and models of other tasks are refused naming the field.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { sseData } from './helpers/contract-http.ts';
import { startTestServer } from './helpers/test-server.ts';

const PROMPT = 'i want to fly from taipei to tokyo on march 3rd';
let root: string;
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-generate-'));
  for (const m of ['chat', 'slots']) cpSync(path.join(BUNDLED_MODELS_DIR, m), path.join(root, m), { recursive: true });
  server = await startTestServer({ modelsDir: root });
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const post = (url: string, body: unknown) => fetch(`${server.http}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe("Triton's generate extension", () => {
  it('generate and generate_stream give the chat reply for the same message and parameters', async () => {
    const parameters = { temperature: 0, max_tokens: 20 };
    const chat = (await (await post('/v1/chat/completions', { messages: [{ role: 'user', content: PROMPT }], ...parameters })).json()) as {
      choices: { message: { content: string } }[];
    };
    const expected = chat.choices[0].message.content;
    expect(expected.length).toBeGreaterThan(0);

    const res = await post('/v2/models/chat/generate', { id: 'r1', text_input: PROMPT, parameters });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'r1', model_name: 'chat', model_version: '1', text_output: expected });

    const stream = await post('/v2/models/chat/versions/1/generate_stream', { text_input: PROMPT, parameters });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const pieces = sseData(await stream.text()).map((d) => JSON.parse(d) as { model_name: string; text_output: string });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => p.model_name === 'chat')).toBe(true);
    expect(pieces.map((p) => p.text_output).join('')).toBe(expected);
  });

  it('refuses bad input naming the field, and models whose task does not generate text', async () => {
    const refused = async (url: string, body: unknown, status: number, pattern: RegExp) => {
      const res = await post(url, body);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(pattern);
    };
    await refused('/v2/models/chat/generate', { text_input: PROMPT, parameters: { temperature: 5 } }, 400, /parameters\.temperature: must be between 0 and 2/);
    await refused('/v2/models/chat/generate', { text_input: PROMPT, parameters: { best_of: 2 } }, 400, /parameters\.best_of: is not a parameter of chat generation/);
    await refused('/v2/models/chat/generate', { text_input: '  ' }, 400, /text_input: must not be empty/);
    // refused by the model's own limits (its vocabulary, its longest reply), still under the generate request's names
    await refused('/v2/models/chat/generate', { text_input: '😀' }, 400, /^text_input: /);
    await refused('/v2/models/chat/generate', { text_input: PROMPT, parameters: { max_tokens: 1_000_000 } }, 400, /^parameters\.max_tokens: must be at most/);
    await refused('/v2/models/chat/generate', { prompt: PROMPT }, 400, /text_input|prompt/);
    await refused('/v2/models/slots/generate', { text_input: PROMPT }, 404, /slot-filling model; the generate extension serves [a-z0-9, -]*\bchat\b/);
    await refused('/v2/models/nope/generate_stream', { text_input: PROMPT }, 404, /nope/);
  });
});
