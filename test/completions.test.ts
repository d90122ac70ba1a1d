/**
 * POST /v1/completions (text2text) through the real server with the bundled g2p model: every word of
 * the committed held-out sample (models/g2p/heldout-sample.jsonl) served greedy and with beam search
 * against the recipe's stored outputs, the sample's PER / WER against the card, the official openai
 * client (plain and streaming), logprobs, the attention alignment, and bad input with OpenAI's error
 * shape naming the field. The g2p model's KServe graphs keep working.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { editDistance } from '../server/core/text/edit-distance.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { startBundledServer } from './helpers/test-server.ts';

interface SampleRow {
  word: string;
  pronunciations: string[];
  greedy: string;
  beam: string;
}
const sample = readFileSync(path.join(BUNDLED_MODELS_DIR, 'g2p', 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as SampleRow);

/** The recipe's scoring (models/g2p/recipe/cmudict.py score): right when equal to any pronunciation, phoneme errors against the closest. */
function score(hyps: string[], refs: string[][]): { per: number; wer: number } {
  let errors = 0;
  let length = 0;
  let wrong = 0;
  hyps.forEach((h, i) => {
    const [dist, len] = refs[i].map((r): [number, number] => [editDistance(h.split(' '), r.split(' ')), r.split(' ').length]).sort((x, y) => x[0] - y[0] || x[1] - y[1])[0];
    errors += dist;
    length += len;
    wrong += dist > 0 ? 1 : 0;
  });
  return { per: Math.round((10000 * errors) / length) / 100, wer: Math.round((10000 * wrong) / hyps.length) / 100 };
}

let server: Awaited<ReturnType<typeof startBundledServer>>;
let client: OpenAI;
beforeAll(async () => {
  server = await startBundledServer(['g2p', 'chat']);
  client = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});

async function complete(body: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/completions (text2text, g2p)', () => {
  it("gives the recipe's greedy and beam outputs on the committed held-out sample, and the card's PER / WER", async () => {
    const words = sample.map((s) => s.word);
    // requests of 50 prompts (at most 64 per request), all at once: they share the engine's batch
    const served = async (extra: object) => {
      const parts = await Promise.all([0, 50, 100, 150].map((k) => complete({ model: 'g2p', prompt: words.slice(k, k + 50), ...extra })));
      for (const p of parts) expect(p.status).toBe(200);
      return {
        texts: parts.flatMap((p) => (p.json.choices as { text: string }[]).map((c) => c.text)),
        promptTokens: parts.reduce((a, p) => a + (p.json.usage.prompt_tokens as number), 0),
      };
    };
    const greedy = await served({});
    const beam = await served({ best_of: 5 });
    const greedyOut = greedy.texts;
    const beamOut = beam.texts;
    const greedyDiffs = sample.filter((s, i) => greedyOut[i] !== s.greedy).map((s, i) => `${s.word}: ${greedyOut[i]} vs ${s.greedy}`);
    const beamDiffs = sample.map((s, i) => (beamOut[i] !== s.beam ? `${s.word}: served ${beamOut[i]}, recipe ${s.beam}` : '')).filter(Boolean);
    expect(greedyDiffs).toEqual([]);
    // The engine's beam search keeps finished and live beams together within the width (a beam that ends
    // takes a place), the recipe's keeps `width` live beams and collects finished ones beside them; with
    // the committed weights the two agree on all 200 words (with the first weights, on 199)
    expect(beamDiffs).toEqual([]);
    const refs = sample.map((s) => s.pronunciations);
    // the card: on the sample, greedy PER 9.01 % / WER 36.0 %, beam PER 8.93 % / WER 36.0 %
    expect(score(greedyOut, refs)).toEqual({ per: 9.01, wer: 36 });
    expect(score(beamOut, refs)).toEqual({ per: 8.93, wer: 36 });
    expect(greedy.promptTokens).toBe(words.join('').length);
  }, 120_000);

  it("gives the model card's example outputs (beam 5)", async () => {
    const card = readFileSync(path.join(BUNDLED_MODELS_DIR, 'g2p', 'README.md'), 'utf8');
    const block = card.slice(card.indexOf('Outputs of the committed weights'));
    const examples = [...block.slice(block.indexOf('```') + 3, block.indexOf('```', block.indexOf('```') + 3)).matchAll(/^(\S+) {2,}(.+?)(?: {2,}\(|$)/gm)].map((m) => [
      m[1],
      m[2].trim(),
    ]);
    expect(examples.length).toBe(7);
    const { json } = await complete({ model: 'g2p', prompt: examples.map(([w]) => w), best_of: 5 });
    expect(json.choices.map((c: { text: string }) => c.text)).toEqual(examples.map(([, p]) => p));
  });

  it('works with the official openai client, plain and streaming', async () => {
    const done = await client.completions.create({ model: 'g2p', prompt: 'taipei' });
    expect(done.object).toBe('text_completion');
    expect(done.choices[0].text).toBe('T AY1 P EY2');
    expect(done.choices[0].finish_reason).toBe('stop');
    expect(done.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 });

    const stream = await client.completions.create({ model: 'g2p', prompt: ['taipei', 'kathmandu'], best_of: 5, stream: true, stream_options: { include_usage: true } });
    const texts = ['', ''];
    const finish: (string | null)[] = [null, null];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('text_completion');
      for (const ch of chunk.choices) {
        texts[ch.index] += ch.text;
        if (ch.finish_reason) finish[ch.index] = ch.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts).toEqual(['T AY1 P EY2', 'K AE2 TH M AH0 N D UW1']);
    expect(finish).toEqual(['stop', 'stop']);
    expect(usage).toMatchObject({ prompt_tokens: 15 });
  });

  it('reports logprobs as OpenAI does, n best beams, echo, and the attention alignment', async () => {
    const { json } = await complete({ model: 'g2p', prompt: 'taipei', logprobs: 3, include_attention: true });
    const [choice] = json.choices;
    const lp = choice.logprobs;
    expect(lp.tokens.join('')).toBe(choice.text);
    expect(lp.tokens).toEqual(['T', ' AY1', ' P', ' EY2']);
    expect(lp.text_offset).toEqual([0, 1, 5, 7]);
    lp.token_logprobs.forEach((x: number, i: number) => {
      expect(x).toBeLessThanOrEqual(0);
      expect(Object.keys(lp.top_logprobs[i])).toHaveLength(3);
      expect(Math.max(...(Object.values(lp.top_logprobs[i]) as number[]))).toBeCloseTo(x, 5); // greedy: the chosen token is the best
    });
    expect(choice.attention.source_tokens).toEqual([...'taipei']);
    expect(choice.attention.output_tokens).toEqual(['T', 'AY1', 'P', 'EY2']);
    for (const row of choice.attention.weights) {
      expect(row).toHaveLength(6);
      expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 3);
    }
    // "T" attends most to "t", "P" to "p"
    expect(choice.attention.weights[0].indexOf(Math.max(...choice.attention.weights[0]))).toBe(0);
    expect(choice.attention.weights[2].indexOf(Math.max(...choice.attention.weights[2]))).toBe(3);

    const beams = await complete({ model: 'g2p', prompt: ['phoneme', 'read'], n: 3, best_of: 5 });
    expect(beams.json.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(beams.json.choices[0].text).toBe('F OW1 N IY0 M');
    expect(new Set(beams.json.choices.slice(0, 3).map((c: { text: string }) => c.text)).size).toBe(3);

    const echo = await complete({ model: 'g2p', prompt: 'Taipei', echo: true });
    expect(echo.json.choices[0].text).toBe('TaipeiT AY1 P EY2');
  });

  it('streams what it answers whole: echo, logprobs and the alignment chunk by chunk', async () => {
    const body = { model: 'g2p', prompt: ['taipei', 'read'], best_of: 3, n: 2, logprobs: 2, include_attention: true };
    const whole = (await complete(body)).json;
    const res = await fetch(`${server.http}/v1/completions`, { method: 'POST', body: JSON.stringify({ ...body, stream: true }) });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const lines = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(lines.at(-1)).toBe('data: [DONE]');
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l.slice(6)));
    const texts = ['', '', '', ''];
    const rows: number[][][] = [[], [], [], []];
    const tokens: string[][] = [[], [], [], []];
    const sources: string[][] = [];
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ object: 'text_completion', model: 'g2p', id: expect.stringMatching(/^cmpl-/) });
      for (const ch of chunk.choices) {
        texts[ch.index] += ch.text;
        if (ch.source_tokens) sources[ch.index] = ch.source_tokens;
        if (ch.attention) rows[ch.index].push(ch.attention);
        if (ch.logprobs) tokens[ch.index].push(...ch.logprobs.tokens);
      }
    }
    whole.choices.forEach((c: { text: string; logprobs: { tokens: string[] }; attention: { source_tokens: string[]; weights: number[][] } }, i: number) => {
      expect(texts[i]).toBe(c.text);
      expect(tokens[i]).toEqual(c.logprobs.tokens);
      expect(sources[i]).toEqual(c.attention.source_tokens);
      expect(rows[i]).toEqual(c.attention.weights);
    });
    const echo = await fetch(`${server.http}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'g2p', prompt: 'read', echo: true, stream: true }) });
    const echoed = (await echo.text())
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0].text)
      .join('');
    expect(echoed).toBe(`read${(await complete({ model: 'g2p', prompt: 'read' })).json.choices[0].text}`);
  });

  it("runs in the model's executor threads", () => {
    expect(server.context.repository.model('g2p').executor?.runsTask).toBe(true);
  });

  it('refuses bad input with OpenAI errors naming the field', async () => {
    const bad = async (body: object, status = 400) => {
      const { status: got, json } = await complete(body);
      expect(got).toBe(status);
      return json.error as { param: string | null; message: string; type: string };
    };
    expect((await bad({ prompt: '' })).param).toBe('prompt');
    expect((await bad({ prompt: '   ' })).message).toMatch(/empty/);
    expect((await bad({ prompt: 'a'.repeat(33) })).message).toMatch(/33 characters long; the model reads at most 32/);
    const outside = await bad({ prompt: ['taipei', 'naïve3'] });
    expect(outside.param).toBe('prompt[1]');
    expect(outside.message).toMatch(/"ï" \(U\+00EF\), "3" \(U\+0033\)/);
    expect((await bad({ prompt: 'new york' })).message).toMatch(/one word per prompt/);
    expect((await bad({})).param).toBe('prompt');
    expect((await bad({ prompt: [1, 2] })).param).toMatch(/^prompt/);
    expect((await bad({ prompt: [] })).param).toBe('prompt');
    expect(await bad({ prompt: Array(65).fill('a') })).toMatchObject({ param: 'prompt', message: 'prompt: must hold at most 64 prompts' });
    expect((await bad({ prompt: 'a', max_tokens: 1000 })).param).toBe('max_tokens');
    expect((await bad({ prompt: 'a', n: 3, best_of: 2 })).param).toBe('best_of');
    expect((await bad({ prompt: 'a', logprobs: 9 })).param).toBe('logprobs');
    expect((await bad({ prompt: 'a', suffix: 'x' })).param).toBe('suffix');
    expect((await bad({ prompt: 'a', model: 'nope' }, 404)).type).toBe('not_found_error');
    expect((await bad({ prompt: 'a', model: 'chat' })).param).toBe('model');
    await expect(client.completions.create({ model: 'g2p', prompt: 'x1' })).rejects.toMatchObject({ status: 400, param: 'prompt' });
  });

  it('keeps the KServe graphs g2p.encoder and g2p.decoder', async () => {
    const res = await fetch(`${server.http}/v2/models/g2p.encoder/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'letters', shape: [1, 3], datatype: 'INT64', data: [24, 9, 20] }] }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; shape: number[] }[] };
    expect(out.outputs.find((o) => o.name === 'keys')?.shape).toEqual([1, 3, 256]);
    expect((await fetch(`${server.http}/v2/models/g2p.decoder`)).status).toBe(200);
  });
});

describe("g2p as one KServe model (Triton's generate extension)", () => {
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${server.http}${url}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('generate, generate_stream and infer give the completion; refusals name text_input or parameters.<name>', async () => {
    expect((await (await fetch(`${server.http}/v2/models/g2p`)).json()) as object).toMatchObject({
      platform: 'seqserve_task',
      inputs: [{ name: 'text_input', datatype: 'BYTES' }],
      outputs: [{ name: 'text_output', datatype: 'BYTES' }],
    });
    const generated = await post('/v2/models/g2p/generate', { text_input: 'taipei', parameters: { best_of: 5 } });
    expect(generated).toMatchObject({ status: 200, body: { model_name: 'g2p', text_output: 'T AY1 P EY2' } });
    const stream = await fetch(`${server.http}/v2/models/g2p/generate_stream`, { method: 'POST', body: JSON.stringify({ text_input: 'kathmandu' }) });
    const pieces = (await stream.text())
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).text_output as string);
    expect(pieces.join('')).toBe((await complete({ model: 'g2p', prompt: 'kathmandu' })).json.choices[0].text);
    const infer = await post('/v2/models/g2p/infer', { inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [2], data: ['taipei', 'pytorch'] }], parameters: { best_of: 5 } });
    expect(infer.body.outputs).toEqual([{ name: 'text_output', datatype: 'BYTES', shape: [2], data: ['T AY1 P EY2', 'P AY1 T AO2 R CH'] }]);
    const bad = await post('/v2/models/g2p/generate', { text_input: 'x-ray' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^text_input: has a character outside the model's alphabet: "-"/);
    expect((await post('/v2/models/g2p/generate', { text_input: 'a', parameters: { logprobs: 2 } })).body.error).toMatch(/parameters\.logprobs/);
    expect((await post('/v2/models/g2p/generate', { text_input: 'a', parameters: { max_tokens: 99 } })).body.error).toMatch(/parameters\.max_tokens/);
  });
});

describe('gRPC seqserve.v1.Generation/Complete', () => {
  it('streams what POST /v1/completions answers, and maps bad input to INVALID_ARGUMENT naming the field', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    interface Message {
      prompt: number;
      choice: number;
      delta: string;
      token: string;
      attention: number[];
      finish_reason: string;
      text: string;
      source_tokens: string[];
      prompt_tokens: number;
      completion_tokens: number;
    }
    const run = (req: object) => serverStream<Message>(stub, 'Complete', req);
    const ok = await run({ model: 'g2p', prompts: ['taipei', 'kathmandu'], beam_width: 5, include_attention: true });
    expect(ok.error).toBeUndefined();
    const finishes = ok.messages.filter((m) => m.finish_reason).sort((a, b) => a.prompt - b.prompt);
    const http = (await complete({ model: 'g2p', prompt: ['taipei', 'kathmandu'], best_of: 5 })).json.choices.map((c: { text: string }) => c.text);
    expect(finishes.map((m) => m.text)).toEqual(http);
    for (const p of [0, 1])
      expect(
        ok.messages
          .filter((m) => m.prompt === p)
          .map((m) => m.delta)
          .join(''),
      ).toBe(http[p]);
    expect(finishes[0]).toMatchObject({ source_tokens: [...'taipei'], prompt_tokens: 6, completion_tokens: 4 });
    expect(ok.messages.find((m) => m.token === 'T')?.attention).toHaveLength(6);
    const bad = await run({ model: 'g2p', prompts: ['ok', 'no way'] });
    expect(bad.error).toMatchObject({ code: 3, details: expect.stringMatching(/^prompts\[1\]: has a character outside/) });
    expect((await run({ model: 'g2p', prompts: [] })).error).toMatchObject({ code: 3, details: expect.stringMatching(/^prompts/) });
    expect((await run({ model: 'g2p', prompts: ['a'], top_logprobs: 9 })).error).toMatchObject({ code: 3, details: expect.stringMatching(/^top_logprobs/) });
    expect((await run({ model: 'nope', prompts: ['a'] })).error?.code).toBe(5);
    close();
  });
});

describe('text2text with --executors off', () => {
  it('answers the same on the main thread', async () => {
    const off = await startBundledServer(['g2p'], { runtime: { ...server.context.config.runtime, executors: false } });
    try {
      expect(off.context.repository.model('g2p').executor).toBeUndefined();
      const body = { model: 'g2p', prompt: ['taipei', 'phoneme', 'zelmorina'], best_of: 5, logprobs: 1 };
      const [a, b] = await Promise.all(
        [server.http, off.http].map(async (url) => (await (await fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) })).json()) as { choices: unknown[] }),
      );
      expect(b.choices).toEqual(a.choices);
    } finally {
      await off.close();
    }
  });
});

describe('text2text clients', () => {
  it('client library: complete() gives each prompt its choices, with the alignment on request', async () => {
    const choices = await new SeqserveHttpClient(server.http).complete(['taipei', 'pytorch'], { bestOf: 5, n: 2, attention: true });
    expect(choices.map((c) => c.prompt)).toEqual([0, 0, 1, 1]);
    expect(choices[0].text).toBe('T AY1 P EY2');
    expect(choices[2].text).toBe('P AY1 T AO2 R CH');
    expect(choices[0].attention?.source_tokens).toEqual([...'taipei']);
  });

  it('CLI: seqserve g2p WORD... prints each pronunciation (and the alignment)', async () => {
    const cli = path.join(BUNDLED_MODELS_DIR, '..', 'bin', 'seqserve.js');
    const { stdout } = await promisify(execFile)('node', [cli, '--url', server.http, 'g2p', 'taipei', 'Kathmandu', '--beam', '5']);
    expect(stdout.trim().split('\n')).toEqual(['taipei     T AY1 P EY2', 'Kathmandu  K AE2 TH M AH0 N D UW1']);
    const aligned = await promisify(execFile)('node', [cli, '--url', server.http, 'g2p', 'taipei', '--attention']);
    expect(aligned.stdout.trim().split('\n')[1].trim()).toBe('T<t AY1<a P<p EY2<e');
  });
});
