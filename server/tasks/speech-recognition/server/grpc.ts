/**
 * `google.cloud.speech.v1.Speech` over seqserve's streaming recognizer: StreamingRecognize (config
 * first, then LINEAR16 audio at 8-48 kHz; interim results with stability, finals with confidence,
 * word times and beam alternatives; single_utterance; endpointing splits long streams) and Recognize.
 * Both are transport-neutral functions of the requests (and an abort signal); the service at the end
 * only adapts grpc-js calls to them.
 */
import type { ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { pcm16ToFloat } from '../../../core/audio/pcm.ts';
import { invalidArgument, SeqserveError } from '../../../core/errors.ts';
import type { Transcript } from '../../../core/speech/ctc-stream-decoder.ts';
import type { RecognitionEvent } from '../../../core/speech/recognizer-stream.ts';
import type { ServerContext } from '../../../context.ts';
import { audioWithin, decodeWav } from '../../../core/audio/decode-wav.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { openTaskStream, resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { runCall } from '../../../service/task-call.ts';
import type { DecodingRequest } from '../../../core/speech/decoding-choice.ts';
import type { RecognitionStream, RecognitionStreamOptions } from '../index.ts';
import { readClientStream } from '../../../grpc/client-stream.ts';
import { grpcError } from '../../../grpc/grpc-status.ts';
import { callSignal, serveStream, type StreamWrite } from '../../../grpc/server-stream.ts';

interface RecognitionConfig {
  encoding: string;
  sample_rate_hertz: number;
  language_code: string;
  max_alternatives: number;
  enable_word_time_offsets: boolean;
  enable_word_confidence: boolean;
  audio_channel_count: number;
  model: string;
  speech_contexts: { phrases: string[]; boost: number }[];
}

interface StreamingConfig {
  config: RecognitionConfig | null;
  single_utterance: boolean;
  interim_results: boolean;
}

interface StreamingRequest {
  streaming_request?: 'streaming_config' | 'audio_content';
  streaming_config?: StreamingConfig | null;
  audio_content?: Uint8Array;
}

interface RecognizeRequest {
  config: RecognitionConfig | null;
  audio: { content?: Uint8Array; uri?: string } | null;
}

const duration = (seconds: number) => {
  const whole = Math.floor(seconds);
  return { seconds: String(whole), nanos: Math.round((seconds - whole) * 1e9) };
};

function checkConfig(config: RecognitionConfig | null | undefined, field: string): RecognitionConfig {
  if (!config) throw invalidArgument(field, 'is required');
  if (config.encoding !== 'LINEAR16') throw invalidArgument(`${field}.encoding`, `${config.encoding} is not supported; send LINEAR16`);
  if (!(config.sample_rate_hertz >= 8000 && config.sample_rate_hertz <= 48000))
    throw invalidArgument(`${field}.sample_rate_hertz`, `must be between 8000 and 48000, not ${config.sample_rate_hertz}`);
  if (config.audio_channel_count > 1) throw invalidArgument(`${field}.audio_channel_count`, 'only mono audio is supported in a stream');
  if (!(config.max_alternatives >= 0 && config.max_alternatives <= MAX_ALTERNATIVES))
    throw invalidArgument(`${field}.max_alternatives`, `must be between 0 and ${MAX_ALTERNATIVES}, not ${config.max_alternatives}`);
  const phrases = (config.speech_contexts ?? []).flatMap((c) => c.phrases ?? []);
  if (phrases.length > MAX_PHRASES) throw invalidArgument(`${field}.speech_contexts`, `${phrases.length} phrases is over the limit of ${MAX_PHRASES}`);
  const long = phrases.findIndex((p) => p.length > MAX_PHRASE_CHARS);
  if (long >= 0) throw invalidArgument(`${field}.speech_contexts`, `phrase ${long} is over ${MAX_PHRASE_CHARS} characters`);
  return config;
}

const MAX_PHRASES = 5000;
/** Google's own limit on alternatives (each one widens the beam). */
const MAX_ALTERNATIVES = 30;
const MAX_PHRASE_CHARS = 100;

/** The decoder a config asks for: alternatives from the beam, speech_contexts phrases as hotwords. */
function decodingRequest(config: RecognitionConfig, live = false): DecodingRequest {
  const hotwords = (config.speech_contexts ?? []).flatMap((c) => (c.phrases ?? []).map((phrase) => ({ phrase, boost: c.boost })));
  return { alternatives: config.max_alternatives || 1, hotwords, live };
}

function alternatives(t: Transcript, extra: { text: string; logProb: number }[], config: RecognitionConfig) {
  const words = config.enable_word_time_offsets || config.enable_word_confidence;
  const first = {
    transcript: t.text,
    confidence: t.confidence,
    words: words
      ? t.words.map((w) => ({ word: w.word, start_time: duration(w.start), end_time: duration(w.end), confidence: config.enable_word_confidence ? w.confidence : 0 }))
      : [],
  };
  const more = extra
    .filter((a) => a.text !== t.text)
    .slice(0, Math.max(0, (config.max_alternatives || 1) - 1))
    .map((a) => ({ transcript: a.text, confidence: Math.exp(a.logProb), words: [] }));
  return [first, ...more];
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** StreamingRecognizeResponse messages for a stream's recognizer events. */
class StreamingResponses {
  private previousPartial = '';
  /** single_utterance: the first final has been sent; the rest of the stream is read and dropped. */
  utteranceEnded = false;

  constructor(
    private readonly config: RecognitionConfig,
    private readonly single: boolean,
    private readonly interim: boolean,
  ) {}

  *of(events: RecognitionEvent[]): Generator<object> {
    for (const e of events) {
      if (this.utteranceEnded) return;
      const end = duration(e.transcript.end);
      if (e.type === 'partial') {
        if (!this.interim) continue;
        const text = e.transcript.text;
        const stability = text ? Math.round((commonPrefix(this.previousPartial, text) / text.length) * 100) / 100 : 0;
        this.previousPartial = text;
        yield { results: [{ alternatives: [{ transcript: text }], is_final: false, stability, result_end_time: end }] };
        continue;
      }
      this.previousPartial = '';
      if (this.single) yield { speech_event_type: 'END_OF_SINGLE_UTTERANCE', speech_event_time: end };
      yield {
        results: [
          { alternatives: alternatives(e.transcript, e.alternatives, this.config), is_final: true, result_end_time: end, language_code: this.config.language_code || 'en-us' },
        ],
      };
      if (this.single) this.utteranceEnded = true;
    }
  }
}

/**
 * One StreamingRecognize stream, whatever carries it: `requests` in order (the transport pauses
 * reading while one is handled), responses through `write`. The first request carries the config,
 * which names the model; the rest of the stream is that model's tracked work (a stream place under
 * its limit, the metrics: one label set whether it succeeds or fails) until the client half-closes.
 */
export async function streamingRecognize(ctx: ServerContext, requests: AsyncIterable<StreamingRequest>, write: StreamWrite): Promise<void> {
  const iterator = requests[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    if (first.done) throw invalidArgument('streaming_config', 'the stream ended without a streaming_config');
    if (first.value.streaming_request !== 'streaming_config') throw invalidArgument('streaming_config', 'the first request must carry streaming_config, before any audio_content');
    const streaming = first.value.streaming_config;
    const config = checkConfig(streaming?.config, 'streaming_config.config');
    const model = resolveTaskModel(ctx.repository, 'speech-recognition', config.model || undefined);
    const responses = new StreamingResponses(config, streaming?.single_utterance ?? false, streaming?.interim_results ?? false);
    const rest = { [Symbol.asyncIterator]: () => iterator };
    await runCall(ctx, { model: model.name, endpoint: 'speech_streaming', kind: 'stream' }, () => recognizeAudioStream(ctx, model, config, rest, responses, write));
  } finally {
    await iterator.return?.();
  }
}

/** The audio requests of a stream through one recognizer (its state lives as long as the stream). */
async function recognizeAudioStream(
  ctx: ServerContext,
  model: TaskLoadedModel<'speech-recognition'>,
  config: RecognitionConfig,
  requests: AsyncIterable<StreamingRequest>,
  responses: StreamingResponses,
  write: StreamWrite,
): Promise<void> {
  const labels = { model: model.name, api: 'google_speech' };
  ctx.metrics.activeStreams.inc(labels);
  let recognizer: (RecognitionStream & { close(): void }) | undefined;
  let ended = false;
  try {
    // the recognizer's state and decoding live where the model's task runs (an executor thread)
    const options: RecognitionStreamOptions = { sampleRate: config.sample_rate_hertz, decoding: decodingRequest(config, true) };
    recognizer = await openTaskStream<Float32Array, RecognitionEvent[]>(model, options);
    const { maxAudioMessageBytes, maxStreamSeconds } = ctx.config.limits;
    let bytes = 0;
    for await (const req of requests) {
      if (responses.utteranceEnded) continue; // until the client half-closes, as Google's API asks it to
      if (req.streaming_request === 'streaming_config') throw invalidArgument('streaming_config', 'may only be sent in the first request');
      const audio = req.audio_content ?? new Uint8Array(0);
      if (audio.byteLength > maxAudioMessageBytes)
        throw invalidArgument('audio_content', `${audio.byteLength} bytes is over the limit of ${maxAudioMessageBytes} bytes per request`);
      if (audio.byteLength % 2 !== 0) throw invalidArgument('audio_content', 'LINEAR16 audio must have an even number of bytes');
      bytes += audio.byteLength;
      if (bytes / 2 / config.sample_rate_hertz > maxStreamSeconds) throw new SeqserveError('out_of_range', `the stream is longer than the limit of ${maxStreamSeconds} s of audio`);
      for (const message of responses.of(await recognizer.push(pcm16ToFloat(audio)))) await write(message);
    }
    ended = true;
    const last = await recognizer.end();
    if (!responses.utteranceEnded) for (const message of responses.of(last)) await write(message);
  } finally {
    if (!ended) recognizer?.close();
    ctx.metrics.activeStreams.dec(labels);
  }
}

/** One Recognize request: the whole audio inline (LINEAR16 or a WAV file); stops when `signal` aborts. */
export async function recognize(ctx: ServerContext, req: RecognizeRequest, signal: AbortSignal): Promise<object> {
  const content = req.audio?.content;
  if (!content || content.byteLength === 0) throw invalidArgument('audio.content', 'is required (inline audio; uri is not supported)');
  const isWav = content.byteLength > 12 && ['RIFF', 'RIFX', 'RF64'].includes(new TextDecoder().decode(content.subarray(0, 4)));
  if (!req.config) throw invalidArgument('config', 'is required');
  // a WAV file says its own encoding, rate and channels; the rest of the config is checked as for raw audio
  const config = checkConfig(isWav ? { ...req.config, encoding: 'LINEAR16', sample_rate_hertz: 16000, audio_channel_count: 1 } : req.config, 'config');
  if (!isWav && content.byteLength % 2 !== 0) throw invalidArgument('audio.content', 'LINEAR16 audio must have an even number of bytes');
  const maxSeconds = ctx.config.limits.maxAudioSeconds;
  const tooLong = (seconds: number) => new SeqserveError('out_of_range', `audio.content: ${seconds.toFixed(1)} s is over the limit of ${maxSeconds} s`);
  const audio = isWav
    ? decodeWav(content, 'audio.content', { maxSeconds, tooLong })
    : audioWithin({ samples: pcm16ToFloat(content), sampleRate: config.sample_rate_hertz }, 'audio.content', maxSeconds, tooLong);
  const seconds = audio.samples.length / audio.sampleRate;
  const model = resolveTaskModel(ctx.repository, 'speech-recognition', config.model || undefined);
  return runCall(ctx, { model: model.name, endpoint: 'speech_recognize', kind: 'request', signal }, async (work) => {
    const results = [];
    try {
      for await (const e of runTask(model, { audio, decoding: decodingRequest(config) }, work)) {
        if (e.type === 'final')
          results.push({
            alternatives: alternatives(e.transcript, e.alternatives, config),
            result_end_time: duration(e.transcript.end),
            language_code: config.language_code || 'en-us',
          });
      }
    } catch (err) {
      throw signal.aborted ? signal.reason : err; // cancelled or deadline_exceeded, as the call says
    }
    return { results, total_billed_time: duration(Math.ceil(seconds)) };
  });
}

export function speechService(ctx: ServerContext): UntypedServiceImplementation {
  return {
    StreamingRecognize: (call: ServerDuplexStream<StreamingRequest, unknown>) =>
      serveStream(call, ctx, (write, signal) => streamingRecognize(ctx, readClientStream(call, signal), write)),
    Recognize: (call: ServerUnaryCall<RecognizeRequest, unknown>, callback: sendUnaryData<unknown>) => {
      recognize(ctx, call.request, callSignal(call)).then(
        (res) => callback(null, res),
        (err: unknown) => callback(grpcError(err, ctx.log)),
      );
    },
  };
}
