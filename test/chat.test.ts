/**
 * The chat API end to end with the bundled model: the official openai client (streaming and not),
 * OpenAI error shapes, the gRPC Generation service, cancellation, the CLI, and the model card's
 * held-out numbers on the committed sample.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { startBundledServer } from './helpers/test-server.ts';
import { asTaskModel } from '../server/runtime/task-models.ts';

const CHAT_DIR = path.join(BUNDLED_MODELS_DIR, 'chat');
const sample = readFileSync(path.join(CHAT_DIR, 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { messages: { role: 'user' | 'assistant'; content: string }[]; reply: string; greedy: string });

let server: Awaited<ReturnType<typeof startBundledServer>>;
let client: OpenAI;

beforeAll(async () => {
  server = await startBundledServer(['chat', 'slots']);
  client = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});

const booking = [{ role: 'user' as const, content: 'i want to fly from taipei to tokyo on march 3rd' }];
const GREETING = 'hello! i can help you book a flight. where would you like to go?';

/** The bundled model's greedy reply (non-streaming) to a conversation. */
async function greedyReply(messages: { role: 'user' | 'assistant'; content: string }[]): Promise<string> {
  const r = await client.chat.completions.create({ model: 'chat', messages, temperature: 0 });
  return r.choices[0].message.content ?? '';
}

describe('chat completions (openai client)', () => {
  it('answers non-streaming with usage, and lists the model', async () => {
    const r = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }], temperature: 0 });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message.content).toBe(GREETING);
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.usage!.completion_tokens).toBeGreaterThan(5);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('chat');
  });

  it('streams the same reply token by token, with a usage chunk', async () => {
    const stream = await client.chat.completions.create({ model: 'chat', messages: booking, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let role: string | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        role ??= c.delta.role;
        if (c.delta.content) deltas.push(c.delta.content);
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    expect(role).toBe('assistant');
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(await greedyReply(booking));
    expect(finish).toBe('stop');
    expect(usage!.completion_tokens).toBe(deltas.length);
  });

  it('uses the conversation: the reply depends on earlier turns', async () => {
    const messages = [
      { role: 'user' as const, content: 'i need a flight to lisbon' },
      { role: 'assistant' as const, content: 'which city are you leaving from?' },
      { role: 'user' as const, content: 'from oslo' },
    ];
    const r = await client.chat.completions.create({ model: 'chat', messages, temperature: 0 });
    expect(r.choices[0].message.content).toBe('what date would you like to travel?');
    const more = [...messages, { role: 'assistant' as const, content: 'what date would you like to travel?' }, { role: 'user' as const, content: 'next friday' }];
    const r2 = await client.chat.completions.create({ model: 'chat', messages: more, temperature: 0 });
    expect(r2.choices[0].message.content).toBe('a flight from oslo to lisbon on next friday. shall i book it?');
  });

  it('max_tokens ends with length; seeds make sampling reproducible; n gives several choices; logprobs and attention', async () => {
    const short = await client.chat.completions.create({ model: 'chat', messages: booking, temperature: 0, max_tokens: 3 });
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.usage!.completion_tokens).toBe(3);
    const sample = (seed: number) => client.chat.completions.create({ model: 'chat', messages: booking, temperature: 1.5, top_p: 0.95, seed, n: 3, max_tokens: 20 });
    const a = await sample(7);
    const b = await sample(7);
    expect(a.choices.map((c) => c.message.content)).toEqual(b.choices.map((c) => c.message.content));
    expect(a.choices).toHaveLength(3);
    const lp = await client.chat.completions.create({ model: 'chat', messages: booking, temperature: 0, logprobs: true, top_logprobs: 3, max_tokens: 4 });
    const content = lp.choices[0].logprobs!.content!;
    expect(content).toHaveLength(4);
    expect(content[0].top_logprobs).toHaveLength(3);
    expect(content[0].logprob).toBeCloseTo(content[0].top_logprobs[0].logprob, 6);
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: booking, temperature: 0, include_attention: true }),
    });
    const body = (await res.json()) as { choices: { attention: { source_tokens: string[]; output_tokens: string[]; weights: number[][] } }[] };
    const att = body.choices[0].attention;
    expect(att.weights).toHaveLength(att.output_tokens.length);
    for (const row of att.weights) {
      expect(row).toHaveLength(att.source_tokens.length);
      expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
    }
    // streamed: the first chunk names the source tokens, each content chunk carries its weights
    const streamed = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: booking, temperature: 0, include_attention: true, stream: true }),
    });
    const chunks = (await streamed.text())
      .split('\n\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { choices: { source_tokens?: string[]; attention?: number[]; delta: { content?: string } }[] });
    expect(chunks[0].choices[0].source_tokens).toEqual(att.source_tokens);
    const weighted = chunks.filter((ch) => ch.choices[0]?.attention);
    expect(weighted).toHaveLength(att.output_tokens.length);
    expect(weighted[0].choices[0].attention).toHaveLength(att.source_tokens.length);
  });

  it('beam search (extension) returns the n best replies', async () => {
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: booking, beam_width: 4, n: 2 }),
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices).toHaveLength(2);
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.choices[1].message.content).not.toBe(body.choices[0].message.content);
    // beams keep each token's attention row and alternatives (they used to come back empty)
    const detailed = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: booking, beam_width: 4, n: 2, include_attention: true, logprobs: true, top_logprobs: 2 }),
    });
    const choices = (
      (await detailed.json()) as {
        choices: { attention: { source_tokens: string[]; output_tokens: string[]; weights: number[][] }; logprobs: { content: { top_logprobs: unknown[] }[] } }[];
      }
    ).choices;
    for (const { attention, logprobs } of choices) {
      expect(attention.output_tokens.length).toBeGreaterThan(0);
      expect(attention.weights).toHaveLength(attention.output_tokens.length);
      for (const row of attention.weights) {
        expect(row).toHaveLength(attention.source_tokens.length);
        expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 3);
      }
      expect(logprobs.content.every((t) => t.top_logprobs.length === 2)).toBe(true);
    }
  });

  it('refuses bad requests with OpenAI-style errors naming the parameter', async () => {
    const bad = async (body: object, status = 400) => {
      const res = await fetch(`${server.http}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(status);
      return ((await res.json()) as { error: { param: string | null; message: string; type: string } }).error;
    };
    expect((await bad({ messages: [] })).param).toBe('messages');
    expect((await bad({})).param).toBe('messages');
    expect((await bad({ messages: [{ role: 'robot', content: 'hi' }] })).param).toBe('messages[0].role');
    expect((await bad({ messages: [{ role: 'user', content: 5 }] })).param).toBe('messages[0].content');
    expect((await bad({ messages: booking, max_tokens: 0 })).param).toBe('max_tokens');
    expect((await bad({ messages: booking, max_tokens: 100000 })).param).toBe('max_tokens');
    expect((await bad({ messages: booking, temperature: -1 })).param).toBe('temperature');
    expect((await bad({ messages: booking, top_p: 0 })).param).toBe('top_p');
    expect((await bad({ messages: booking, top_p: 1.5 })).param).toBe('top_p');
    expect((await bad({ messages: [{ role: 'system', content: 'be nice' }] })).param).toBe('messages');
    expect((await bad({ messages: [{ role: 'user', content: 'word '.repeat(400) }] })).param).toBe('messages[0].content');
    expect((await bad({ messages: booking, model: 'nope' }, 404)).type).toBe('not_found_error');
    expect((await bad({ messages: booking, model: 'slots' })).param).toBe('model');
    const notJson = await fetch(`${server.http}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [' });
    expect(notJson.status).toBe(400);
    await expect(client.chat.completions.create({ model: 'chat', messages: booking, n: 99 })).rejects.toMatchObject({ status: 400 });
  });

  it('frees the sequence when a streaming client disconnects', async () => {
    const engine = asTaskModel(server.context.repository.model('chat'), 'chat').taskModel;
    const abort = new AbortController();
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: booking, stream: true, temperature: 1.5, seed: 1, max_tokens: 48 }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await expect.poll(() => engine.activeSequences, { timeout: 2000 }).toBe(0);
  });
});

describe('gRPC seqserve.v1.Generation', () => {
  it('streams the same reply as the HTTP API, and maps bad input to INVALID_ARGUMENT', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    const run = (req: object) => serverStream<{ delta: string; finish_reason: string }>(stub, 'Generate', req);
    const ok = await run({ messages: booking, temperature: 0 });
    expect(ok.messages.map((m) => m.delta).join('')).toBe(await greedyReply(booking));
    expect(ok.messages.at(-1)!.finish_reason).toBe('stop');
    const bad = await run({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 100000 });
    expect(bad.error).toMatchObject({ code: 3, details: expect.stringMatching(/^max_tokens/) });
    const none = await run({ messages: [] });
    expect(none.error?.code).toBe(3);
    close();
  });
});

describe('seqserve chat (CLI)', () => {
  it('streams replies to several turns of one conversation', async () => {
    const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
    const { stdout } = await promisify(execFile)('node', [cli, '--url', server.http, 'chat', '--message', 'hello', 'i want to fly to paris']);
    expect(stdout.trim().split('\n')).toEqual(['hello! i can help you book a flight. where would you like to go?', 'which city are you leaving from?']);
  });
});

describe('chat model card', () => {
  it('reproduces the held-out exact match of the committed sample through the API', async () => {
    const card = readFileSync(path.join(CHAT_DIR, 'README.md'), 'utf8');
    const metrics = JSON.parse(readFileSync(path.join(CHAT_DIR, 'metrics.json'), 'utf8'));
    const replies = await Promise.all(sample.map((s) => client.chat.completions.create({ model: 'chat', messages: s.messages, temperature: 0 })));
    const texts = replies.map((r) => r.choices[0].message.content);
    const exact = texts.filter((t, i) => t === sample[i].reply).length / sample.length;
    const samePython = texts.filter((t, i) => t === sample[i].greedy).length / sample.length;
    expect(samePython).toBeGreaterThanOrEqual(0.98); // ONNX Runtime and PyTorch agree on (almost) every greedy reply
    expect(exact).toBeCloseTo(metrics.heldout_sample.exact_match, 2);
    expect(card).toContain(`${(metrics.heldout_sample.exact_match * 100).toFixed(1)} %`);
  });
});
