/**
 * The spam classifier through the core's TextClassifier (the code the server and the page share) under
 * onnxruntime-web (wasm, the page's runtime, here in Node) and onnxruntime-node: the committed
 * held-out sample, batched as the server batches it, gives the same scores, attention and per-token
 * logits in both and the recipe's; a text's scores do not depend on the texts batched with it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor } from 'onnxruntime-common';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { TextClassifier, type ClassificationResult } from '../server/core/classify/text-classifier.ts';
import type { GraphRunner, TensorMap } from '../server/core/graph-runner.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { Vocabulary } from '../server/core/text/word-features.ts';

ortWeb.env.wasm.numThreads = 1;

const SPAM_DIR = path.join(BUNDLED_MODELS_DIR, 'spam');
const manifest = parseManifest(JSON.parse(readFileSync(path.join(SPAM_DIR, 'manifest.json'), 'utf8')));
const vocabulary = new Vocabulary(JSON.parse(readFileSync(path.join(SPAM_DIR, manifest.text!.vocabulary), 'utf8')) as string[]);
const graph = path.join(SPAM_DIR, manifest.graphs.classifier.file);
const sample = readFileSync(path.join(SPAM_DIR, 'heldout-sample.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; text: string; scores: Record<string, number>; attention: number[]; token_spam_logits: number[] });

type Session = ortNode.InferenceSession | ortWeb.InferenceSession;
const sessions: Session[] = [];

function runner(session: Session, make: (t: Tensor) => unknown): GraphRunner {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds) => {
      const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, make(t)])) as never);
      return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, new Tensor('float32', t.data as Float32Array, t.dims)])) as TensorMap;
    },
  };
}

let node: TextClassifier;
let web: TextClassifier;
beforeAll(async () => {
  const n = await ortNode.InferenceSession.create(graph);
  const w = await ortWeb.InferenceSession.create(graph);
  sessions.push(n, w);
  node = new TextClassifier(
    runner(n, (t) => new ortNode.Tensor('int64', t.data as BigInt64Array, t.dims)),
    manifest.text!,
    vocabulary,
    manifest.classification!,
  );
  web = new TextClassifier(
    runner(w, (t) => new ortWeb.Tensor('int64', t.data as BigInt64Array, t.dims)),
    manifest.text!,
    vocabulary,
    manifest.classification!,
  );
});
afterAll(async () => {
  for (const s of sessions) await s.release();
});

const score = (r: ClassificationResult, label: string) => r.scores.find((s) => s.label === label)!.score;

describe('text classification: onnxruntime-web vs onnxruntime-node', () => {
  it("same scores and attention on the committed held-out sample, and the recipe's", async () => {
    const texts = sample.map((s) => s.text);
    const [a, b] = [await node.classify(texts, { attention: true, contributions: true }), await web.classify(texts, { attention: true, contributions: true })];
    sample.forEach((row, i) => {
      for (const label of ['ham', 'spam']) {
        expect(Math.abs(score(a[i], label) - score(b[i], label)), `${row.id} ${label}`).toBeLessThan(1e-5);
        expect(score(a[i], label), `${row.id} ${label} vs recipe`).toBeCloseTo(row.scores[label], 4);
      }
      a[i].attention!.forEach((x, t) => {
        expect(Math.abs(x.weight - b[i].attention![t].weight), `${row.id} token ${t}`).toBeLessThan(1e-5);
        expect(x.weight).toBeCloseTo(row.attention[t], 4);
      });
      a[i].contributions!.tokens.forEach((x, t) => {
        expect(Math.abs(x.logits[1] - b[i].contributions!.tokens[t].logits[1]), `${row.id} token ${t} share`).toBeLessThan(1e-5);
        expect(x.logits[1]).toBeCloseTo(row.token_spam_logits[t], 4);
      });
      expect(Math.abs(a[i].contributions!.rest[1] - b[i].contributions!.rest[1]), `${row.id} rest`).toBeLessThan(1e-4);
    });
  }, 120_000);

  it("a text's scores do not depend on the texts batched with it (padding at the end of each row)", async () => {
    const short = sample.reduce((s, r) => (r.text.length < s.text.length ? r : s));
    const long = sample.reduce((s, r) => (r.text.length > s.text.length ? r : s));
    const [alone] = await node.classify([short.text], { attention: true, contributions: true });
    const [, batched] = await node.classify([long.text, short.text], { attention: true, contributions: true });
    expect(Math.abs(score(alone, 'spam') - score(batched, 'spam'))).toBeLessThan(1e-5);
    alone.attention!.forEach((x, t) => expect(Math.abs(x.weight - batched.attention![t].weight)).toBeLessThan(1e-5));
    alone.contributions!.tokens.forEach((x, t) => expect(Math.abs(x.logits[1] - batched.contributions!.tokens[t].logits[1])).toBeLessThan(1e-5));
  });
});
