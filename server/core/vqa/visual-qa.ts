/**
 * Visual question answering: an image and a question → one run of the model's graph for a batch of
 * such pairs → the answer, the k most probable answers with their probabilities, and the attention
 * over the image's region grid (each hop's weights, row-major over `image.grid`). Runtime-agnostic:
 * the server runs it in the model's executor thread, the browser over onnxruntime-web.
 */
import { Tensor } from 'onnxruntime-common';
import { z } from 'zod';
import { invalidArgument, SeqserveError } from '../errors.ts';
import type { ImageSource } from '../generation/generation-engine.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { ImageSpec, Manifest, VqaSpec } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import { type AnswerProbability, topAnswers } from './answers.ts';
import { QuestionVocabulary } from './question-tokens.ts';

/** The most image-question pairs one request answers together. */
export const MAX_VQA_ITEMS = 16;
/** The most answers a result lists (top_k). */
export const MAX_TOP_K = 32;

export interface VqaItem {
  image: ImageSource;
  question: string;
  /** The request fields of the image and the question, for errors (default `image`, `question`). */
  fields?: { image: string; question: string };
}

export interface VqaAttention {
  /** Rows and columns of the region grid. */
  grid: [number, number];
  /** The last hop's weight of each region (row-major; they sum to 1). */
  weights: number[];
  /** Every hop's weights, first hop first. */
  hops: number[][];
}

export interface VqaResult {
  answer: string;
  /** The k most probable answers, best first. */
  answers: AnswerProbability[];
  /** The question's words as the model read them. */
  words: string[];
  attention?: VqaAttention;
}

export class VisualQA {
  constructor(
    private readonly graph: GraphRunner,
    readonly spec: VqaSpec,
    readonly image: ImageSpec,
    readonly vocabulary: QuestionVocabulary,
    readonly answerList: readonly string[],
  ) {}

  /** What `answer` would refuse (an empty, over-long or unknown-word question, too many items, a bad top_k), thrown at once. */
  validate(items: readonly Pick<VqaItem, 'question' | 'fields'>[], topK?: number): number[][] {
    if (items.length === 0) throw invalidArgument('question', 'is required');
    if (items.length > MAX_VQA_ITEMS) throw invalidArgument('question', `at most ${MAX_VQA_ITEMS} image-question pairs per request (${items.length})`);
    if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1 && topK <= MAX_TOP_K)) throw invalidArgument('top_k', `must be an integer from 1 to ${MAX_TOP_K}`);
    return items.map((it) => this.vocabulary.encode(it.question, it.fields?.question ?? 'question'));
  }

  /** Answers the pairs in one run of the graph. */
  async answer(items: readonly VqaItem[], topK = 5, signal?: AbortSignal): Promise<VqaResult[]> {
    const ids = this.validate(items, topK);
    const { width, height } = this.image;
    const plane = 3 * width * height;
    const B = items.length;
    const T = Math.max(...ids.map((q) => q.length));
    const pixels = new Float32Array(B * plane);
    items.forEach((it, b) => {
      const { dims } = it.image;
      if (dims[0] !== 3 || dims[1] !== height || dims[2] !== width || it.image.pixels.length !== plane)
        throw invalidArgument(it.fields?.image ?? 'image', `must be decoded to [3, ${height}, ${width}] (got [${dims.join(', ')}])`);
      pixels.set(it.image.pixels, b * plane);
    });
    const words = new BigInt64Array(B * T);
    ids.forEach((q, b) => q.forEach((id, t) => (words[b * T + t] = BigInt(id))));
    signal?.throwIfAborted();
    const out = await this.graph.run({
      [this.spec.image]: new Tensor('float32', pixels, [B, 3, height, width]),
      [this.spec.question]: new Tensor('int64', words, [B, T]),
    });
    const scores = out[this.spec.answer];
    const A = this.answerList.length;
    if (!scores || scores.dims.length !== 2 || scores.dims[0] !== B || scores.dims[1] !== A)
      throw new Error(`VQA output ${this.spec.answer} has shape [${scores?.dims.join(', ')}], expected [${B}, ${A}]`);
    const data = scores.data as Float32Array;
    const att = this.spec.attention ? out[this.spec.attention] : undefined;
    return items.map((it, b) => {
      const answers = topAnswers(data.subarray(b * A, (b + 1) * A), this.answerList, topK);
      const result: VqaResult = { answer: answers[0].answer, answers, words: ids[b].map((id) => this.vocabulary.entries[id]) };
      if (att) result.attention = this.attentionOf(att, b);
      return result;
    });
  }

  private attentionOf(att: Tensor, b: number): VqaAttention {
    const grid: [number, number] = this.image.grid ?? [1, (att.dims.at(-1) as number) ?? 1];
    const R = grid[0] * grid[1];
    const hopsN = att.dims.length === 3 ? att.dims[1] : 1;
    if (att.dims.at(-1) !== R) throw new Error(`VQA attention output has shape [${att.dims.join(', ')}]; the image grid has ${R} regions`);
    const data = att.data as Float32Array;
    const hops: number[][] = [];
    for (let h = 0; h < hopsN; h++) hops.push(Array.from(data.subarray((b * hopsN + h) * R, (b * hopsN + h + 1) * R)));
    return { grid, weights: hops[hops.length - 1], hops };
  }
}

/** Builds the VQA model from its manifest, files and graph runner; mistakes name the manifest field. */
export async function loadVisualQA(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>): Promise<VisualQA> {
  const { vqa, image } = manifest;
  if (!vqa || !image) throw new SeqserveError('failed_precondition', 'manifest.json: visual-qa models need the vqa and image sections');
  const [graphName] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'vqa') ?? [];
  const runner = graphName === undefined ? undefined : runners[graphName];
  if (!runner) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "vqa"');
  for (const [key, input] of [
    ['image', vqa.image],
    ['question', vqa.question],
  ] as const)
    if (!runner.inputNames.includes(input))
      throw new SeqserveError('failed_precondition', `manifest.json: vqa.${key}: graph "${graphName}" has no input "${input}" (it has ${runner.inputNames.join(', ')})`);
  for (const [key, output] of [
    ['answer', vqa.answer],
    ['attention', vqa.attention],
  ] as const)
    if (output !== undefined && !runner.outputNames.includes(output))
      throw new SeqserveError('failed_precondition', `manifest.json: vqa.${key}: graph "${graphName}" has no output "${output}" (it has ${runner.outputNames.join(', ')})`);
  const list = (file: string, min: number, what: string) => {
    return readJsonFile(read, file).then((v) => {
      const parsed = z.array(z.string().min(1)).min(min).safeParse(v);
      if (!parsed.success) throw new SeqserveError('failed_precondition', `${file}: must be a JSON array of at least ${min} ${what}`, { field: file });
      return parsed.data;
    });
  };
  const [vocab, answers] = await Promise.all([list(vqa.vocab, 2, 'entries (the padding token, then words)'), list(vqa.answers, 2, 'answers')]);
  return new VisualQA(runner, vqa, image, new QuestionVocabulary(vocab, vqa.maxQuestionWords), answers);
}
