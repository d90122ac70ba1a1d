import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import type { ImageSpec, VqaSpec } from '../manifest.ts';
import { QuestionVocabulary } from './question-tokens.ts';
import { VisualQA } from './visual-qa.ts';

const image: ImageSpec = { width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], grid: [1, 2] };
const spec: VqaSpec = { image: 'image', question: 'question', answer: 'answer', attention: 'attention', vocab: 'v.json', answers: 'a.json', maxQuestionWords: 4 };
const answers = ['yes', 'no', 'red'];

/** A fake graph: answer scores from the question's last word id and the image's first pixel; records its feeds. */
function fakeGraph(): GraphRunner & { feeds: TensorMap[] } {
  const feeds: TensorMap[] = [];
  return {
    feeds,
    inputNames: ['image', 'question'],
    outputNames: ['answer', 'attention'],
    async run(f) {
      feeds.push(f);
      const [B, T] = f.question.dims;
      const ids = f.question.data as BigInt64Array;
      const px = f.image.data as Float32Array;
      const scores = new Float32Array(B * 3);
      const att = new Float32Array(B * 2 * 2);
      for (let b = 0; b < B; b++) {
        let last = 0;
        for (let t = 0; t < T; t++) if (ids[b * T + t] !== 0n) last = Number(ids[b * T + t]);
        scores[b * 3 + (last % 3)] = 5;
        const w = px[b * 12] > 0 ? 0.75 : 0.25;
        att.set([0.5, 0.5, w, 1 - w], b * 4);
      }
      return { answer: new Tensor('float32', scores, [B, 3]), attention: new Tensor('float32', att, [B, 2, 2]) };
    },
  };
}

const pixels = (v: number) => ({ pixels: new Float32Array(12).fill(v), dims: [3, 2, 2] as const });

describe('VisualQA', () => {
  const vocab = new QuestionVocabulary(['<pad>', 'is', 'it', 'red', 'what'], 4);
  it('runs a batch in one graph run, padding questions at the end, and decodes answers and attention per row', async () => {
    const graph = fakeGraph();
    const qa = new VisualQA(graph, spec, image, vocab, answers);
    const out = await qa.answer(
      [
        { image: pixels(1), question: 'is it red?' }, // last id 3 → "yes"
        { image: pixels(-1), question: 'what' }, // last id 4 → "no"
      ],
      2,
    );
    expect(graph.feeds).toHaveLength(1);
    expect(graph.feeds[0].question.dims).toEqual([2, 3]);
    expect(Array.from(graph.feeds[0].question.data as BigInt64Array)).toEqual([1n, 2n, 3n, 4n, 0n, 0n]);
    expect(out.map((r) => r.answer)).toEqual(['yes', 'no']);
    expect(out[0].answers).toHaveLength(2);
    expect(out[0].words).toEqual(['is', 'it', 'red']);
    expect(out[0].attention).toEqual({
      grid: [1, 2],
      weights: [0.75, 0.25],
      hops: [
        [0.5, 0.5],
        [0.75, 0.25],
      ],
    });
    expect(out[1].attention?.weights).toEqual([0.25, 0.75]);
  });
  it('refuses before running: unknown words named with their field, too many pairs, a bad top_k, a wrongly sized image', async () => {
    const graph = fakeGraph();
    const qa = new VisualQA(graph, spec, image, vocab, answers);
    await expect(qa.answer([{ image: pixels(0), question: 'is it blue', fields: { image: 'inputs.image[0]', question: 'inputs.question[0]' } }])).rejects.toThrow(
      /inputs\.question\[0\]: has a word this model does not know: "blue"/,
    );
    expect(() => qa.validate(Array.from({ length: 17 }, () => ({ question: 'is it' })))).toThrow(/at most 16/);
    expect(() => qa.validate([{ question: 'is it' }], 0)).toThrow(/top_k/);
    await expect(qa.answer([{ image: { pixels: new Float32Array(3), dims: [3, 1, 1] }, question: 'is it' }])).rejects.toThrow(/image: must be decoded to \[3, 2, 2\]/);
    expect(graph.feeds).toHaveLength(0);
  });
});
