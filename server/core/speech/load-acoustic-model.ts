import { z } from 'zod';
import { NgramLm } from '../decode/ngram-lm.ts';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import type { Manifest } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import type { AcousticModel } from './recognizer-stream.ts';

export interface AcousticLoadOptions {
  /** Shape of each graph input, -1 for variable dimensions (from the session's metadata). */
  inputShapes: Record<string, number[]>;
  /**
   * Wraps the acoustic graph into the step function streams share; `batchAxes` gives each input's
   * and output's batch axis (the server batches steps of all streams, the browser runs them as they come).
   */
  makeStep: (runner: GraphRunner, batchAxes: Record<string, number>) => (feeds: TensorMap) => Promise<TensorMap>;
}

/** Builds the streaming acoustic model of a speech-recognition manifest. */
export async function loadAcousticModel(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>, options: AcousticLoadOptions): Promise<AcousticModel> {
  const { audio, decoding } = manifest;
  if (!audio || decoding?.kind !== 'ctc') throw new SeqserveError('failed_precondition', 'manifest.json: speech recognition needs audio and ctc decoding');
  const [graphName, spec] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'acoustic') ?? [];
  const runner = graphName === undefined ? undefined : runners[graphName];
  if (!runner || !spec) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "acoustic"');
  if (!runner.inputNames.includes(audio.input)) throw new SeqserveError('failed_precondition', `manifest.json: audio.input: graph "${graphName}" has no input "${audio.input}"`);
  if (!runner.outputNames.includes(decoding.logProbs))
    throw new SeqserveError('failed_precondition', `manifest.json: decoding.logProbs: graph "${graphName}" has no output "${decoding.logProbs}"`);
  const alphabet = z
    .array(z.string())
    .min(2)
    .safeParse(await readJsonFile(read, decoding.alphabet));
  if (!alphabet.success) throw new SeqserveError('failed_precondition', `${decoding.alphabet}: must be a JSON array of at least two strings`);
  const batchAxes: Record<string, number> = { [audio.input]: 0, [decoding.logProbs]: 0 };
  const states = spec.states.map((s) => {
    const shape = options.inputShapes[s.input];
    if (!shape) throw new SeqserveError('failed_precondition', `manifest.json: graphs.${graphName}.states: no input "${s.input}"`);
    batchAxes[s.input] = s.batchAxis;
    batchAxes[s.output] = s.batchAxis;
    return { input: s.input, output: s.output, shape: shape.map((d, i) => (i === s.batchAxis ? 1 : Math.max(d, 1))) };
  });
  const beam = decoding.beam;
  let lm: AcousticModel['lm'];
  if (beam?.lm) {
    const text = new TextDecoder().decode(await read(beam.lm.file));
    lm = { model: NgramLm.fromArpa(text, beam.lm.file), alpha: beam.lm.alpha, beta: beam.lm.beta };
  }
  return {
    audio,
    logProbs: decoding.logProbs,
    alphabet: alphabet.data,
    blank: decoding.blank,
    states,
    step: options.makeStep(runner, batchAxes),
    beam: { width: beam?.width ?? 8, byDefault: beam?.default ?? false, hotwordBonus: beam?.hotwordBonus ?? 1.5 },
    ...(lm ? { lm } : {}),
  };
}
