/**
 * A loaded encoder-decoder: its graphs, tokenizer and generation spec. Built the same way by the
 * server (onnxruntime-node graphs) and the browser (onnxruntime-web sessions).
 */
import { z } from 'zod';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { GenerationSpec, ImageSpec, Manifest, VideoSpec } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import { SpelledWordTokenizer } from '../text/spelled-word-tokenizer.ts';

export interface Seq2SeqModel {
  spec: GenerationSpec;
  /** Set for image encoders: how images are preprocessed into the encoder input. */
  image?: ImageSpec;
  /** Set for video encoders: how a clip's frames are sampled and preprocessed into the encoder input. */
  video?: VideoSpec;
  tokenizer: SpelledWordTokenizer;
  encoder: GraphRunner;
  decoder: GraphRunner;
  /** Decoder state input → { output, batch axis }. */
  states: Record<string, { output: string; batchAxis: number }>;
}

export async function loadSeq2SeqModel(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>): Promise<Seq2SeqModel> {
  const spec = manifest.generation;
  if (!spec) throw new SeqserveError('failed_precondition', 'manifest.json: generation: is required');
  const graph = (role: string) => {
    const entry = Object.entries(manifest.graphs).find(([, g]) => g.role === role);
    const runner = entry && runners[entry[0]];
    if (!entry || !runner) throw new SeqserveError('failed_precondition', `manifest.json: graphs: no graph with role "${role}"`);
    return { name: entry[0], spec: entry[1], runner };
  };
  const encoder = graph('encoder');
  const decoder = graph('decoder_step');
  const need = (runnerNames: readonly string[], names: string[], where: string, field: string) => {
    for (const n of names) if (!runnerNames.includes(n)) throw new SeqserveError('failed_precondition', `manifest.json: ${field}: graph "${where}" has no tensor "${n}"`);
  };
  need(encoder.runner.inputNames, [spec.encoder.input], encoder.name, 'generation.encoder.input');
  need(encoder.runner.outputNames, [...spec.encoder.memory, ...Object.values(spec.encoder.initialStates)], encoder.name, 'generation.encoder');
  need(decoder.runner.inputNames, [spec.decoder.prevToken, ...spec.encoder.memory, ...Object.keys(spec.encoder.initialStates)], decoder.name, 'generation.decoder');
  need(decoder.runner.outputNames, [spec.decoder.logits, ...(spec.decoder.attention ? [spec.decoder.attention] : [])], decoder.name, 'generation.decoder');
  const vocab = z
    .array(z.string())
    .min(4)
    .safeParse(await readJsonFile(read, spec.vocab));
  if (!vocab.success) throw new SeqserveError('failed_precondition', `${spec.vocab}: must be a JSON array of token strings`);
  const specials = new Set([spec.bos, spec.eos, spec.pad, spec.unk, ...(spec.roles ? [spec.roles.user, spec.roles.assistant] : [])]);
  for (const id of specials)
    if (id >= vocab.data.length) throw new SeqserveError('failed_precondition', `manifest.json: generation: special token ${id} is outside the vocabulary`);
  const states = Object.fromEntries(decoder.spec.states.map((s) => [s.input, { output: s.output, batchAxis: s.batchAxis }]));
  for (const input of Object.keys(spec.encoder.initialStates)) {
    if (!states[input]) throw new SeqserveError('failed_precondition', `manifest.json: generation.encoder.initialStates: "${input}" is not a state of graph "${decoder.name}"`);
  }
  return {
    spec,
    ...(manifest.image ? { image: manifest.image } : {}),
    ...(manifest.video ? { video: manifest.video } : {}),
    tokenizer: new SpelledWordTokenizer(vocab.data, spec.unk, specials),
    encoder: encoder.runner,
    decoder: decoder.runner,
    states,
  };
}
