/** Recognition of a whole audio file as a stream of events (partials while it runs, then finals). */
import { SeqserveError } from '../errors.ts';
import { decodingFor, type DecodingRequest } from './decoding-choice.ts';
import type { EndpointRules } from './ctc-stream-decoder.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from './recognizer-stream.ts';

/** Audio pushed into the recognizer per await, so partial results flow and other work interleaves. */
const PUSH_SECONDS = 0.5;

export async function* transcribeAudio(
  model: AcousticModel,
  samples: Float32Array,
  sampleRate: number,
  signal?: AbortSignal,
  decoding: DecodingRequest = {},
  rules?: EndpointRules,
): AsyncGenerator<RecognitionEvent> {
  const stream = new RecognizerStream(model, { sampleRate, ...decodingFor(model, decoding), ...(rules ? { rules } : {}) });
  const step = Math.round(PUSH_SECONDS * sampleRate);
  for (let i = 0; i < samples.length; i += step) {
    if (signal?.aborted) throw new SeqserveError('cancelled', 'the client went away');
    yield* await stream.push(samples.subarray(i, i + step));
  }
  yield* await stream.end();
}
