/** Speech recognition: a streaming CTC acoustic graph with greedy or beam (+ word LM) decoding. */
import { loadAcousticModel } from '../../core/speech/load-acoustic-model.ts';
import type { DecodedAudio } from '../../core/audio/decode-wav.ts';
import { decodingFor, type DecodingRequest } from '../../core/speech/decoding-choice.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from '../../core/speech/recognizer-stream.ts';
import { transcribeAudio } from '../../core/speech/transcribe-audio.ts';
import { requireRoles, requireSection, type TaskModule, type TaskStream } from '../task-module.ts';

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

export const speechRecognition: TaskModule<'speech-recognition', AcousticModel, RecognitionRequest, RecognitionEvent> = {
  name: 'speech-recognition',
  description: 'streaming CTC speech recognition (POST /v1/audio/transcriptions, google.cloud.speech.v1.Speech)',
  roles: ['acoustic'],
  checkManifest: (m) => [
    ...requireSection('speech-recognition', m, 'audio'),
    ...(m.decoding?.kind === 'ctc' ? [] : [{ path: ['decoding'], message: 'speech-recognition models need ctc decoding' }]),
    ...(m.audio && m.audio.chunkSamples % m.audio.frameSamples !== 0 ? [{ path: ['audio', 'chunkSamples'], message: 'must be a whole number of frames (frameSamples)' }] : []),
    ...requireRoles('speech-recognition', m, ['acoustic']),
  ],
  axisBounds: ({ model, spec, manifest: { audio }, inputs, options, add }) => {
    if (!audio || spec.role !== 'acoustic') return;
    add(audio.input, -1, audio.contextSamples + audio.chunkSamples, `audio.contextSamples + audio.chunkSamples of model ${model}: one streaming chunk`);
    const samples = inputs.find((i) => i.name === audio.input);
    const streams = `the streams model ${model} runs together`;
    if (samples && samples.shape.length > 1) add(audio.input, 0, options.streamBatch, streams);
    for (const s of spec.states) add(s.input, s.batchAxis, options.streamBatch, streams);
  },
  load: ({ manifest, read, runners, inputShapes, platform }) => {
    const graph = Object.entries(manifest.graphs).find(([, g]) => g.role === 'acoustic')?.[0] ?? '';
    return loadAcousticModel(manifest, read, runners, {
      inputShapes: inputShapes[graph] ?? {},
      makeStep: (runner, batchAxes) => platform.streamStep(graph, runner, batchAxes),
    });
  },
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
