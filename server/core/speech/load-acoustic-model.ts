import { Tensor } from 'onnxruntime-common';
import { z } from 'zod';
import { NgramLm } from '../decode/ngram-lm.ts';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import type { Manifest } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import type { AcousticModel } from './recognizer-stream.ts';
import type { VadModel } from './vad-endpointer.ts';

export interface AcousticLoadOptions {
  /** Shape of each input of each graph, -1 for variable dimensions (from the sessions' metadata). */
  inputShapes: Record<string, Record<string, number[]>>;
  /**
   * Wraps a streaming graph (the acoustic one, an endpointing VAD) into the step function streams
   * share; `batchAxes` gives each input's and output's batch axis (the server batches steps of all
   * streams, the browser runs them as they come).
   */
  makeStep: (graph: string, runner: GraphRunner, batchAxes: Record<string, number>) => (feeds: TensorMap) => Promise<TensorMap>;
}

/** Builds the streaming acoustic model of a speech-recognition manifest. */
export async function loadAcousticModel(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>, options: AcousticLoadOptions): Promise<AcousticModel> {
  const { audio, decoding } = manifest;
  if (!audio || decoding?.kind !== 'ctc') throw new SeqserveError('failed_precondition', 'manifest.json: speech recognition needs audio and ctc decoding');
  const [graphName, spec] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'acoustic') ?? [];
  const runner = graphName === undefined ? undefined : runners[graphName];
  if (!runner || !spec || graphName === undefined) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "acoustic"');
  if (!runner.inputNames.includes(audio.input)) throw new SeqserveError('failed_precondition', `manifest.json: audio.input: graph "${graphName}" has no input "${audio.input}"`);
  if (!runner.outputNames.includes(decoding.logProbs))
    throw new SeqserveError('failed_precondition', `manifest.json: decoding.logProbs: graph "${graphName}" has no output "${decoding.logProbs}"`);
  const alphabet = z
    .array(z.string())
    .min(2)
    .safeParse(await readJsonFile(read, decoding.alphabet));
  if (!alphabet.success) throw new SeqserveError('failed_precondition', `${decoding.alphabet}: must be a JSON array of at least two strings`);
  const states = stateShapes(graphName, spec, options.inputShapes[graphName] ?? {});
  const beam = decoding.beam;
  let lm: AcousticModel['lm'];
  if (beam?.lm) {
    const text = new TextDecoder().decode(await read(beam.lm.file));
    lm = { model: NgramLm.fromArpa(text, beam.lm.file), alpha: beam.lm.alpha, beta: beam.lm.beta, lookahead: beam.lm.lookahead, oovPenalty: beam.lm.oovPenalty };
  }
  return {
    audio,
    logProbs: decoding.logProbs,
    alphabet: alphabet.data,
    blank: decoding.blank,
    states,
    step: options.makeStep(graphName, runner, stepBatchAxes(audio.input, decoding.logProbs, spec)),
    beam: { width: beam?.width ?? 8, liveWidth: beam?.liveWidth ?? 16, byDefault: beam?.default ?? false, hotwordBonus: beam?.hotwordBonus ?? 1.5 },
    ...(lm ? { lm } : {}),
    endpointing: await endpointingOf(manifest, runners, options),
  };
}

/** The batch axes of a streaming step graph (the server batches all streams' steps on them): its audio input and its output on 0, states as the manifest declares. */
export function stepBatchAxes(input: string, output: string, spec: Manifest['graphs'][string]): Record<string, number> {
  const axes: Record<string, number> = { [input]: 0, [output]: 0 };
  for (const s of spec.states) axes[s.input] = axes[s.output] = s.batchAxis;
  return axes;
}

/** Each state's zero shape for one stream (1 on the batch axis and every symbolic dimension). */
function stateShapes(graphName: string, spec: Manifest['graphs'][string], inputShapes: Record<string, number[]>): AcousticModel['states'] {
  return spec.states.map((s) => {
    const shape = inputShapes[s.input];
    if (!shape) throw new SeqserveError('failed_precondition', `manifest.json: graphs.${graphName}.states: no input "${s.input}"`);
    return { input: s.input, output: s.output, shape: shape.map((d, i) => (i === s.batchAxis ? 1 : Math.max(d, 1))) };
  });
}

/**
 * The manifest's endpointing: CTC-blank rules, or the VAD graph with its own step function (batched
 * like the acoustic one). A VAD graph is checked at load: one zero frame of
 * [1, contextSamples + frameSamples] with the initial state must run, so a graph that takes another
 * frame length fails the model here instead of every stream's first frame (its `sr` constant is
 * checked against audio.sampleRate with the manifest, in the task's checkManifest).
 */
async function endpointingOf(manifest: Manifest, runners: Record<string, GraphRunner>, options: AcousticLoadOptions): Promise<AcousticModel['endpointing']> {
  const e = manifest.endpointing;
  if (!e) return undefined;
  const limits = { silenceWithoutSpeech: e.silenceWithoutSpeechMs / 1000, maxUtterance: e.maxUtteranceMs / 1000 };
  if (e.mode === 'ctc-blank') return { rules: { ...limits, silenceAfterSpeech: e.silenceAfterSpeechMs / 1000 } };
  const spec = manifest.graphs[e.graph];
  const runner = runners[e.graph];
  if (!spec || !runner) throw new SeqserveError('failed_precondition', `manifest.json: endpointing.graph: no graph "${e.graph}"`);
  if (!runner.inputNames.includes(e.input)) throw new SeqserveError('failed_precondition', `manifest.json: endpointing.input: graph "${e.graph}" has no input "${e.input}"`);
  if (!runner.outputNames.includes(e.output)) throw new SeqserveError('failed_precondition', `manifest.json: endpointing.output: graph "${e.graph}" has no output "${e.output}"`);
  const fed = new Set([e.input, ...spec.states.map((s) => s.input), ...Object.keys(spec.constants ?? {})]);
  const unfed = runner.inputNames.filter((n) => !fed.has(n));
  if (unfed.length)
    throw new SeqserveError(
      'failed_precondition',
      `manifest.json: graphs.${e.graph}: input${unfed.length > 1 ? 's' : ''} ${unfed.map((n) => `"${n}"`).join(', ')} of the endpointing graph ${unfed.length > 1 ? 'are' : 'is'} fed by nothing: declare ${unfed.length > 1 ? 'them' : 'it'} under states or constants`,
    );
  const states = stateShapes(e.graph, spec, options.inputShapes[e.graph] ?? {});
  const step = options.makeStep(e.graph, runner, stepBatchAxes(e.input, e.output, spec));
  await checkVadFrame(e, states, step);
  const vad: VadModel = {
    input: e.input,
    output: e.output,
    frameSamples: e.frameSamples,
    contextSamples: e.contextSamples,
    states,
    step,
    sampleRate: manifest.audio?.sampleRate ?? 16000,
    threshold: e.threshold,
    negativeThreshold: e.negativeThreshold ?? Math.max(0.01, e.threshold - 0.15),
    minSilenceMs: e.minSilenceMs,
    minSpeechMs: e.minSpeechMs,
    ...limits,
  };
  return { vad };
}

/** Runs one zero frame with the initial state through the VAD step: a graph that cannot take the manifest's frame fails the model at load. */
async function checkVadFrame(
  e: { graph: string; output: string; input: string; frameSamples: number; contextSamples: number },
  states: VadModel['states'],
  step: VadModel['step'],
): Promise<void> {
  const length = e.contextSamples + e.frameSamples;
  const feeds = Object.fromEntries([
    [e.input, new Tensor('float32', new Float32Array(length), [1, length])],
    ...states.map((s) => [s.input, new Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape)]),
  ]);
  const problem = await step(feeds).then(
    (out) => (out[e.output]?.size ? undefined : `output "${e.output}" is empty`),
    (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300),
  );
  if (problem !== undefined)
    throw new SeqserveError(
      'failed_precondition',
      `manifest.json: endpointing.frameSamples / endpointing.contextSamples: the endpointing graph "${e.graph}" fails on a frame of [1, ${length}] (contextSamples ${e.contextSamples} + frameSamples ${e.frameSamples}): ${problem}`,
    );
}
