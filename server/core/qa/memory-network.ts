/**
 * A loaded memory network (spoken QA): story sentences and a question → a distribution over answer
 * words and the attention of each hop over the sentences. Server and browser build it alike.
 */
import { Tensor } from 'onnxruntime-common';
import { z } from 'zod';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { Manifest, MemorySpec } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import { memoryInputs } from './memory-features.ts';
import { SentenceSegmenter } from './sentence-boundaries.ts';

export interface MemoryAnswer {
  answer: string;
  /** Probability of every answer word, in `answers` order. */
  probs: number[];
  /** Per hop, attention over the story sentences in story order. */
  hops: number[][];
}

export class MemoryNetwork {
  constructor(
    readonly spec: MemorySpec,
    readonly answers: readonly string[],
    private readonly graph: GraphRunner,
    /** Cuts a recognised utterance into story sentences, if the model has a `sentence_boundaries` graph. */
    readonly segmenter?: SentenceSegmenter,
  ) {}

  async answer(sentences: readonly string[], question: string): Promise<MemoryAnswer> {
    const { spec } = this;
    const G = 1 + spec.wordIds.maxNgrams;
    const inputs = memoryInputs(sentences, question, spec);
    const out = await this.graph.run({
      [spec.story]: new Tensor('int64', inputs.story, [1, spec.maxSentences, spec.maxWords, G]),
      [spec.question]: new Tensor('int64', inputs.question, [1, spec.maxWords, G]),
    });
    const logProbs = out[spec.answer].data as Float32Array;
    const probs = Array.from(logProbs, (l) => Math.exp(l));
    const best = probs.indexOf(Math.max(...probs));
    const hopsT = out[spec.hops];
    const [, K, S] = hopsT.dims;
    const data = hopsT.data as Float32Array;
    // the memory holds the most recent sentence first; report in story order
    const hops = Array.from({ length: K }, (_, k) => sentences.map((_, i) => data[k * S + (sentences.length - 1 - i)]));
    return { answer: this.answers[best], probs, hops };
  }
}

export async function loadMemoryNetwork(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>): Promise<MemoryNetwork> {
  const spec = manifest.memory;
  if (!spec) throw new SeqserveError('failed_precondition', 'manifest.json: memory: is required');
  const entry = Object.entries(manifest.graphs).find(([, g]) => g.role === 'memory_network');
  const runner = entry && runners[entry[0]];
  if (!entry || !runner) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "memory_network"');
  for (const n of [spec.story, spec.question])
    if (!runner.inputNames.includes(n)) throw new SeqserveError('failed_precondition', `manifest.json: memory: graph "${entry[0]}" has no input "${n}"`);
  for (const n of [spec.answer, spec.hops])
    if (!runner.outputNames.includes(n)) throw new SeqserveError('failed_precondition', `manifest.json: memory: graph "${entry[0]}" has no output "${n}"`);
  const answers = z
    .array(z.string().min(1))
    .min(2)
    .safeParse(await readJsonFile(read, spec.answers));
  if (!answers.success) throw new SeqserveError('failed_precondition', `${spec.answers}: must be a JSON array of answer words`);
  return new MemoryNetwork(spec, answers.data, runner, loadSegmenter(manifest, runners));
}

function loadSegmenter(manifest: Manifest, runners: Record<string, GraphRunner>): SentenceSegmenter | undefined {
  const spec = manifest.memory?.segmenter;
  const entry = Object.entries(manifest.graphs).find(([, g]) => g.role === 'sentence_boundaries');
  if (!spec && !entry) return undefined;
  if (!spec) throw new SeqserveError('failed_precondition', `manifest.json: memory: graph "${entry![0]}" has role "sentence_boundaries" but memory.segmenter is missing`);
  const runner = entry && runners[entry[0]];
  if (!entry || !runner) throw new SeqserveError('failed_precondition', 'manifest.json: memory.segmenter: no graph with role "sentence_boundaries"');
  if (!runner.inputNames.includes(spec.chars)) throw new SeqserveError('failed_precondition', `manifest.json: memory.segmenter: graph "${entry[0]}" has no input "${spec.chars}"`);
  if (!runner.outputNames.includes(spec.boundary))
    throw new SeqserveError('failed_precondition', `manifest.json: memory.segmenter: graph "${entry[0]}" has no output "${spec.boundary}"`);
  return new SentenceSegmenter(spec, runner);
}
