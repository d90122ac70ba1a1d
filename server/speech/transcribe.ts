/** Recognition of a whole audio file as a stream of events (partials while it runs, then finals). */
import { SeqserveError } from '../core/errors.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from '../core/speech/recognizer-stream.ts';

/** Audio pushed into the recognizer per await, so partial results flow and other work interleaves. */
const PUSH_SECONDS = 0.5;

/**
 * `alternatives` > 1 runs a CTC prefix beam beside greedy decoding (wider than the alternatives
 * asked for); it costs far more per frame than greedy, so it runs only when alternatives are wanted.
 */
export function beamWidthFor(alternatives: number): number {
  return alternatives > 1 ? Math.max(8, alternatives * 2) : 0;
}

export async function* transcribeAudio(model: AcousticModel, samples: Float32Array, sampleRate: number, signal?: AbortSignal, alternatives = 1): AsyncGenerator<RecognitionEvent> {
  const stream = new RecognizerStream(model, { sampleRate, beamWidth: beamWidthFor(alternatives) });
  const step = Math.round(PUSH_SECONDS * sampleRate);
  for (let i = 0; i < samples.length; i += step) {
    if (signal?.aborted) throw new SeqserveError('cancelled', 'the client went away');
    yield* await stream.push(samples.subarray(i, i + step));
  }
  yield* await stream.end();
}
