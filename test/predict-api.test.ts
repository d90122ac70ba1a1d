/**
 * POST /predict through the real server with the bundled spam model: the committed held-out sample
 * gives the recipe's scores and attention (models/spam/heldout-sample.jsonl), one text or a batch,
 * TEI's request and response shapes, and clear errors for bad input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { batchSizes } from './helpers/batch-metrics.ts';
import { startBundledServer } from './helpers/test-server.ts';

const SPAM_DIR = path.join(BUNDLED_MODELS_DIR, 'spam');

interface SampleRow {
  id: string;
  group: string;
  label: string;
  text: string;
  scores: Record<string, number>;
  attention: number[];
  /** The recipe's raw logits and each token's share of the spam logit. */
  logits: number[];
  token_spam_logits: number[];
}
interface Prediction {
  label: string;
  score: number;
}
interface WithAttention {
  predictions: Prediction[];
  attention: { text: string; start: number; end: number; weight: number }[];
  truncated: boolean;
}

const sample = readFileSync(path.join(SPAM_DIR, 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as SampleRow);

let server: Awaited<ReturnType<typeof startBundledServer>>;
beforeAll(async () => {
  server = await startBundledServer(['spam', 'slots']);
});
afterAll(async () => {
  await server.close();
});

async function predict(body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.http}/predict`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('POST /predict (text-classification, TEI-compatible)', () => {
  it("gives the recipe's scores and attention on the committed held-out sample, all in one batch", async () => {
    const { status, json } = await predict({ inputs: sample.map((s) => [s.text]), return_attention: true });
    expect(status).toBe(200);
    const results = json as WithAttention[];
    expect(results).toHaveLength(sample.length);
    let correct = 0;
    results.forEach((r, i) => {
      const row = sample[i];
      expect(r.truncated).toBe(false);
      expect(r.predictions.map((p) => p.label).sort()).toEqual(['ham', 'spam']);
      expect(r.predictions[0].score).toBeGreaterThanOrEqual(r.predictions[1].score);
      for (const p of r.predictions) expect(p.score, `${row.id} ${p.label}`).toBeCloseTo(row.scores[p.label], 4);
      expect(r.attention.map((a) => a.weight).length, row.id).toBe(row.attention.length);
      r.attention.forEach((a, t) => {
        expect(a.weight, `${row.id} token ${t}`).toBeCloseTo(row.attention[t], 4);
        expect(row.text.slice(a.start, a.end)).toBe(a.text);
      });
      if (r.predictions[0].label === row.label) correct++;
    });
    // the sample's accuracy is the recipe's (its scores are the recipe's): most of it right, hard ham included
    expect(correct / sample.length).toBeGreaterThanOrEqual(0.9);
    // the card states this sample and the run's numbers (metrics.json)
    const card = readFileSync(path.join(SPAM_DIR, 'README.md'), 'utf8');
    const metrics = JSON.parse(readFileSync(path.join(SPAM_DIR, 'metrics.json'), 'utf8')) as { test: Record<string, number>; baseline_test: Record<string, number> };
    expect(card).toContain(`${correct} of ${sample.length} are classified correctly`);
    for (const x of [metrics.test.accuracy, metrics.test.spam_f1, metrics.baseline_test.accuracy]) expect(card).toContain(`${(100 * x).toFixed(2)} %`);
  }, 60_000);

  it("gives each token's share of the logits and the raw logits as the recipe computed them; the shares push spam toward spam and ham toward ham", async () => {
    const rows = sample.slice(0, 12);
    const { status, json } = await predict({ inputs: rows.map((s) => [s.text]), return_contributions: true, raw_scores: true });
    expect(status).toBe(200);
    const results = json as {
      predictions: Prediction[];
      attention?: unknown;
      contributions: { tokens: { text: string; start: number; end: number; logits: Record<string, number> }[]; rest: Record<string, number> };
      truncated: boolean;
    }[];
    results.forEach((r, i) => {
      const row = rows[i];
      expect(r.attention, 'no attention unless asked').toBeUndefined();
      expect(r.contributions.tokens).toHaveLength(row.token_spam_logits.length);
      r.contributions.tokens.forEach((t, k) => {
        expect(row.text.slice(t.start, t.end)).toBe(t.text);
        expect(t.logits.ham, `${row.id} token ${k}`).toBe(0); // the linear path moves the spam logit only
        expect(t.logits.spam, `${row.id} token ${k}`).toBeCloseTo(row.token_spam_logits[k], 4);
      });
      const raw = Object.fromEntries(r.predictions.map((p) => [p.label, p.score]));
      ['ham', 'spam'].forEach((label, j) => {
        expect(raw[label], `${row.id} ${label}`).toBeCloseTo(row.logits[j], 4);
      });
      // the ham logit is all rest (the recurrent path's, scaled); the spam shares are the linear path's
      expect(r.contributions.rest.ham, row.id).toBeCloseTo(raw.ham, 4);
    });
    // the shares decide: on spam rows the spam push of the tokens is positive overall, on easy ham negative
    const push = (i: number) => results[i].contributions.tokens.reduce((a, t) => a + t.logits.spam, 0);
    const spamRows = rows.map((r, i) => i).filter((i) => rows[i].label === 'spam' && rows[i].scores.spam > 0.9);
    expect(spamRows.length).toBeGreaterThan(0);
    for (const i of spamRows) expect(push(i), rows[i].id).toBeGreaterThan(0);
    const easyHam = rows.map((r, i) => i).filter((i) => rows[i].group === 'easy_ham');
    expect(easyHam.length).toBeGreaterThan(0);
    for (const i of easyHam) expect(push(i), rows[i].id).toBeLessThan(0);
  });

  it('answers one text with a list of labels, as TEI does; a batch with one list per text', async () => {
    const spam = sample.find((s) => s.label === 'spam' && s.scores.spam > 0.9)!;
    const ham = sample.find((s) => s.label === 'ham' && s.scores.ham > 0.9)!;
    const one = await predict({ inputs: spam.text });
    expect(one.status).toBe(200);
    expect(one.json).toEqual([
      { label: 'spam', score: expect.closeTo(spam.scores.spam, 4) as number },
      { label: 'ham', score: expect.closeTo(spam.scores.ham, 4) as number },
    ]);
    expect((await predict({ inputs: [ham.text], model: 'spam' })).json).toEqual([
      { label: 'ham', score: expect.closeTo(ham.scores.ham, 4) as number },
      { label: 'spam', score: expect.closeTo(ham.scores.spam, 4) as number },
    ]);
    const batch = (await predict({ inputs: [[spam.text], [ham.text]] })).json as Prediction[][];
    expect(batch.map((p) => p[0].label)).toEqual(['spam', 'ham']);
    const raw = (await predict({ inputs: spam.text, raw_scores: true })).json as Prediction[];
    const [a, b] = [raw.find((p) => p.label === 'spam')!.score, raw.find((p) => p.label === 'ham')!.score];
    expect(1 / (1 + Math.exp(b - a))).toBeCloseTo(spam.scores.spam, 4);
  });

  it('concurrent one-text requests of different lengths share classifier runs (the manifest pad plan) and answer as alone', async () => {
    const rows = sample.slice(0, 16);
    const one = async (text: string) =>
      (await predict({ inputs: text, return_attention: true, return_contributions: true, raw_scores: true })).json as WithAttention & {
        contributions: { tokens: { logits: Record<string, number> }[] };
      };
    /** seqserve_batch_size's count and row sum for the classifier once they stop moving (executor threads report every ~50 ms). */
    const sizes = async () => {
      const read = () => batchSizes(server.http, 'spam.classifier');
      let last = await read();
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 150));
        const now = await read();
        if (now.count === last.count && now.sum === last.sum) return now;
        last = now;
      }
      return last;
    };
    const start = await sizes();
    const alone: Awaited<ReturnType<typeof one>>[] = [];
    for (const r of rows) alone.push(await one(r.text));
    const before = await sizes();
    expect(before.count - start.count).toBe(rows.length); // one at a time: a run each
    const together = await Promise.all(rows.map((r) => one(r.text)));
    const after = await sizes();
    together.forEach((r, i) => {
      const id = rows[i].id;
      r.predictions.forEach((p, j) => expect(p.score, id).toBeCloseTo(alone[i].predictions[j].score, 4));
      r.attention.forEach((a, t) => expect(Math.abs(a.weight - alone[i].attention[t].weight), `${id} ${t}`).toBeLessThan(1e-5));
      r.contributions.tokens.forEach((t, k) => expect(Math.abs(t.logits.spam - alone[i].contributions.tokens[k].logits.spam), `${id} ${k}`).toBeLessThan(1e-5));
    });
    expect(after.sum - before.sum).toBe(rows.length);
    expect(after.count - before.count).toBeLessThan(rows.length); // some runs held more than one request
  });

  it("cuts each batched request's outputs back to its own tokens (KServe infer of the classifier graph, concurrent, different lengths)", async () => {
    const rows = readFileSync(path.join(SPAM_DIR, 'heldout-sample.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; word_ids: number[]; shape_ids: number[]; ngram_ids?: number[][] })
      .filter((r) => r.ngram_ids);
    expect(new Set(rows.map((r) => r.word_ids.length)).size).toBeGreaterThan(2);
    const infer = async (r: (typeof rows)[number]) => {
      const T = r.word_ids.length;
      const inputs = [
        { name: 'word_ids', datatype: 'INT64', shape: [1, T], data: r.word_ids },
        { name: 'ngram_ids', datatype: 'INT64', shape: [1, T, 16], data: r.ngram_ids!.flatMap((g) => [...g, ...Array<number>(16 - g.length).fill(0)]) },
        { name: 'shape_ids', datatype: 'INT64', shape: [1, T], data: r.shape_ids },
      ];
      const res = await fetch(`${server.http}/v2/models/spam.classifier/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { outputs: { name: string; shape: number[] }[] };
    };
    const meta = (await (await fetch(`${server.http}/v2/models/spam.classifier`)).json()) as { parameters: { dynamic_batching: string } };
    expect(JSON.parse(meta.parameters.dynamic_batching)).toMatchObject({ pad: { word_ids: 0, ngram_ids: 0, shape_ids: 0 }, length_buckets: true });
    const answers = await Promise.all([...rows, ...rows].map(infer));
    answers.forEach((a, i) => {
      const T = rows[i % rows.length].word_ids.length;
      const shape = (name: string) => a.outputs.find((o) => o.name === name)?.shape;
      expect(shape('logits'), rows[i % rows.length].id).toEqual([1, 2]);
      expect(shape('attention'), rows[i % rows.length].id).toEqual([1, T]);
      expect(shape('token_logits'), rows[i % rows.length].id).toEqual([1, T, 2]);
    });
  });

  it('truncates long texts only when asked', async () => {
    const long = 'win money now '.repeat(200);
    expect((await predict({ inputs: long })).status).toBe(400);
    const { status, json } = await predict({ inputs: long, truncate: true, return_attention: true });
    expect(status).toBe(200);
    const r = json as WithAttention;
    expect(r.truncated).toBe(true);
    expect(r.attention).toHaveLength(512);
    expect(r.attention.reduce((s, a) => s + a.weight, 0)).toBeCloseTo(1, 4);
  });

  it("refuses bad input with 4xx naming the field, in TEI's error shape", async () => {
    expect(await predict({ inputs: '' })).toEqual({ status: 400, json: { error: 'inputs: must contain at least one word', error_type: 'Validation' } });
    const cases: [unknown, number, RegExp][] = [
      ['{"inputs": ', 400, /^body: malformed JSON/],
      [{}, 400, /^inputs: /],
      [{ inputs: 42 }, 400, /^inputs: must be a string, \["text"\] or a batch/],
      [{ inputs: '   ' }, 400, /^inputs: must contain at least one word/],
      [{ inputs: [['ok'], ['  ']] }, 400, /^inputs\[1\]\[0\]: must contain at least one word/],
      [{ inputs: [] }, 400, /^inputs: /],
      [{ inputs: 'x'.repeat(20_000) }, 400, /^inputs: must be at most 10000 characters/],
      [{ inputs: 'a '.repeat(600) }, 400, /^inputs: has 600 tokens; this model accepts at most 512 \(or set truncate: true\)/],
      [{ inputs: [['ok'], ['a '.repeat(600)]] }, 400, /^inputs\[1\]\[0\]: has 600 tokens/],
      [{ inputs: ['a question', 'a passage'] }, 400, /^inputs: text pairs are not supported/],
      [{ inputs: Array.from({ length: 65 }, () => ['hi']) }, 400, /^inputs: must hold at most 64 texts/],
      [{ inputs: 'hi', truncate: 'yes' }, 400, /^truncate: must be a boolean/],
      [{ inputs: 'hi', return_contributions: 1 }, 400, /^return_contributions: must be a boolean/],
      [{ inputs: 'hi', model: 'nope' }, 404, /^model: unknown model "nope"/],
      [{ inputs: 'hi', model: 'slots' }, 400, /slots/],
    ];
    for (const [body, status, error] of cases) {
      const res = await predict(body);
      expect({ body: JSON.stringify(body).slice(0, 60), status: res.status, error: (res.json as { error?: string }).error }).toMatchObject({
        status,
        error: expect.stringMatching(error),
      });
    }
  });
});
