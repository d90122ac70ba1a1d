/** Speech recognition: a streaming CTC acoustic graph with greedy or beam (+ word LM) decoding. */
import { loadAcousticModel } from '../../core/speech/load-acoustic-model.ts';
import type { DecodedAudio } from '../../core/audio/decode-wav.ts';
import { decodingFor, type DecodingRequest } from '../../core/speech/decoding-choice.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from '../../core/speech/recognizer-stream.ts';
import { transcribeAudio } from '../../core/speech/transcribe-audio.ts';
import type { ManifestBody } from '../../core/manifest.ts';
import { requireRoles, requireSection, type ManifestIssue, type TaskModule, type TaskStream } from '../task-module.ts';

/** A recognition request: a whole recording and how to decode it. */
export interface RecognitionRequest {
  audio: DecodedAudio;
  decoding?: DecodingRequest;
}

/** A live recognition stream: audio at `sampleRate` pushed as it arrives, events back for each push. */
export interface RecognitionStreamOptions {
  sampleRate: number;
  decoding: DecodingRequest;
}

export type RecognitionStream = TaskStream<Float32Array, RecognitionEvent[]>;

/**
 * `endpointing` names a graph of role "vad" (and a graph of that role is an endpointer's); thresholds
 * in order; the VAD graph's sample-rate constant `sr` (Silero's name for it), if it has one, equals
 * audio.sampleRate (the rate the VAD is fed at).
 */
function endpointingIssues(m: ManifestBody): ManifestIssue[] {
  const e = m.endpointing;
  const vadGraphs = Object.entries(m.graphs).filter(([, g]) => g.role === 'vad');
  if (e?.mode !== 'vad') {
    return vadGraphs.map(([name]) => ({
      path: ['graphs', name, 'role'],
      message: 'a "vad" graph is an endpointer: set endpointing to {"mode": "vad", "graph": "' + name + '", ...}',
    }));
  }
  const issues: ManifestIssue[] = [];
  const graph = m.graphs[e.graph];
  if (!graph) issues.push({ path: ['endpointing', 'graph'], message: `no graph "${e.graph}" (graphs: ${Object.keys(m.graphs).join(', ')})` });
  else if (graph.role !== 'vad') issues.push({ path: ['endpointing', 'graph'], message: `graph "${e.graph}" has role "${graph.role}"; the endpointing graph needs role "vad"` });
  const sr = graph?.constants?.sr;
  if (sr !== undefined && m.audio && sr !== m.audio.sampleRate)
    issues.push({
      path: ['graphs', e.graph, 'constants', 'sr'],
      message: `the endpointing graph reads audio at ${sr} Hz, but audio.sampleRate is ${m.audio.sampleRate} (the VAD is fed the recognizer's audio)`,
    });
  for (const [name] of vadGraphs) if (name !== e.graph) issues.push({ path: ['graphs', name, 'role'], message: `only one "vad" graph is used: endpointing.graph is "${e.graph}"` });
  if (e.negativeThreshold !== undefined && e.negativeThreshold > e.threshold)
    issues.push({ path: ['endpointing', 'negativeThreshold'], message: `must not be above threshold (${e.threshold})` });
  return issues;
}

export const speechRecognition: TaskModule<'speech-recognition', AcousticModel, RecognitionRequest, RecognitionEvent> = {
  name: 'speech-recognition',
  description: 'streaming CTC speech recognition (POST /v1/audio/transcriptions, google.cloud.speech.v1.Speech)',
  roles: ['acoustic', 'vad'],
  checkManifest: (m) => [
    ...endpointingIssues(m),
    ...requireSection('speech-recognition', m, 'audio'),
    ...(m.decoding?.kind === 'ctc' ? [] : [{ path: ['decoding'], message: 'speech-recognition models need ctc decoding' }]),
    ...(m.audio && m.audio.chunkSamples % m.audio.frameSamples !== 0 ? [{ path: ['audio', 'chunkSamples'], message: 'must be a whole number of frames (frameSamples)' }] : []),
    ...lookaheadIssues(m),
    ...requireRoles('speech-recognition', m, ['acoustic']),
  ],
  axisBounds: ({ model, spec, manifest: { audio, endpointing }, inputs, options, add }) => {
    const streams = `the streams model ${model} runs together`;
    if (spec.role === 'vad' && endpointing?.mode === 'vad') {
      add(endpointing.input, -1, endpointing.contextSamples + endpointing.frameSamples, `endpointing.contextSamples + endpointing.frameSamples of model ${model}: one VAD frame`);
      add(endpointing.input, 0, options.streamBatch, streams);
      for (const s of spec.states) add(s.input, s.batchAxis, options.streamBatch, streams);
      return;
    }
    if (!audio || spec.role !== 'acoustic') return;
    add(audio.input, -1, audio.contextSamples + audio.chunkSamples, `audio.contextSamples + audio.chunkSamples of model ${model}: one streaming chunk`);
    const samples = inputs.find((i) => i.name === audio.input);
    if (samples && samples.shape.length > 1) add(audio.input, 0, options.streamBatch, streams);
    for (const s of spec.states) add(s.input, s.batchAxis, options.streamBatch, streams);
  },
  load: ({ manifest, read, runners, inputShapes, platform }) =>
    loadAcousticModel(manifest, read, runners, { inputShapes, makeStep: (graph, runner, batchAxes) => platform.streamStep(graph, runner, batchAxes) }),
  runsInExecutor: true,
  stream: {
    open(model, options): RecognitionStream {
      const { sampleRate, decoding } = options as RecognitionStreamOptions;
      const recognizer = new RecognizerStream(model, { sampleRate, ...decodingFor(model, decoding) });
      return { push: (samples) => recognizer.push(samples), end: () => recognizer.end() };
    },
  },
  run: (model, { audio, decoding }, signal) => transcribeAudio(model, audio.samples, audio.sampleRate, signal, decoding),
};

/**
 * A VAD endpoint is taken on audio the decoder of a graph with lookahead has not answered yet: the
 * utterance is cut that many frames early, harmless while those frames are part of the silence that
 * ended it, so the lookahead must be shorter than the VAD's minSilenceMs.
 */
function lookaheadIssues(m: ManifestBody): ManifestIssue[] {
  const { audio, endpointing } = m;
  if (!audio || !audio.lookaheadFrames || endpointing?.mode !== 'vad') return [];
  const ms = (audio.lookaheadFrames * audio.frameSamples * 1000) / audio.sampleRate;
  if (ms < endpointing.minSilenceMs) return [];
  return [
    {
      path: ['audio', 'lookaheadFrames'],
      message: `${audio.lookaheadFrames} frames (${ms} ms) must be shorter than endpointing.minSilenceMs (${endpointing.minSilenceMs} ms): a VAD endpoint would cut the frames the recognizer has not answered yet`,
    },
  ];
}
