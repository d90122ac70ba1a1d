/**
 * `google.cloud.speech.v1.Speech` over seqserve's streaming recognizer: StreamingRecognize (config
 * first, then LINEAR16 audio at 8-48 kHz; interim results with stability, finals with confidence,
 * word times and beam alternatives; single_utterance; endpointing splits long streams) and Recognize.
 */
import type { ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { pcm16ToFloat } from '../core/audio/pcm.ts';
import { invalidArgument, SeqserveError } from '../core/errors.ts';
import type { Transcript } from '../core/speech/ctc-stream-decoder.ts';
import { RecognizerStream, type RecognitionEvent } from '../core/speech/recognizer-stream.ts';
import type { ServerContext } from '../context.ts';
import { decodeWav } from '../core/audio/decode-wav.ts';
import { resolveTaskModel } from '../runtime/task-models.ts';
import { decodingFor, type DecodingRequest } from '../core/speech/decoding-choice.ts';
import { transcribeAudio } from '../core/speech/transcribe-audio.ts';
import { grpcError } from './grpc-status.ts';

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

interface StreamingRequest {
  streaming_request?: 'streaming_config' | 'audio_content';
  streaming_config?: { config: RecognitionConfig | null; single_utterance: boolean; interim_results: boolean } | null;
  audio_content?: Uint8Array;
}

const duration = (seconds: number) => {
  const whole = Math.floor(seconds);
  return { seconds: String(whole), nanos: Math.round((seconds - whole) * 1e9) };
};

function checkConfig(config: RecognitionConfig | null | undefined, field: string): RecognitionConfig {
  if (!config) throw invalidArgument(field, 'is required');
  if (config.encoding !== 'LINEAR16') throw invalidArgument(`${field}.encoding`, `${config.encoding} is not supported; send LINEAR16`);
  if (!(config.sample_rate_hertz >= 8000 && config.sample_rate_hertz <= 48000)) throw invalidArgument(`${field}.sample_rate_hertz`, `must be between 8000 and 48000, not ${config.sample_rate_hertz}`);
  if (config.audio_channel_count > 1) throw invalidArgument(`${field}.audio_channel_count`, 'only mono audio is supported in a stream');
  const phrases = (config.speech_contexts ?? []).flatMap((c) => c.phrases ?? []);
  if (phrases.length > MAX_PHRASES) throw invalidArgument(`${field}.speech_contexts`, `${phrases.length} phrases is over the limit of ${MAX_PHRASES}`);
  const long = phrases.findIndex((p) => p.length > MAX_PHRASE_CHARS);
  if (long >= 0) throw invalidArgument(`${field}.speech_contexts`, `phrase ${long} is over ${MAX_PHRASE_CHARS} characters`);
  return config;
}

const MAX_PHRASES = 5000;
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
    words: words ? t.words.map((w) => ({ word: w.word, start_time: duration(w.start), end_time: duration(w.end), confidence: config.enable_word_confidence ? w.confidence : 0 })) : [],
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

export function speechService(ctx: ServerContext): UntypedServiceImplementation {
  return {
    StreamingRecognize: (call: ServerDuplexStream<StreamingRequest, unknown>) => {
      let streamModel: string | undefined; // set while the stream holds recognizer state
      let leaveAdmission: (() => void) | undefined; // the stream's place under the model's stream limit
      const run = async () => {
        let config: RecognitionConfig | undefined;
        let single = false;
        let interim = false;
        let stream: RecognizerStream | undefined;
        let previousPartial = '';
        let bytes = 0;
        let done = false;
        const maxSeconds = ctx.config.limits.maxStreamSeconds;
        const write = (msg: object) => new Promise<void>((resolve) => call.write(msg, () => resolve()));
        const send = async (events: RecognitionEvent[]) => {
          for (const e of events) {
            if (done) return;
            const end = duration(e.transcript.end);
            if (e.type === 'partial') {
              if (!interim) continue;
              const stability = e.transcript.text ? Math.round((commonPrefix(previousPartial, e.transcript.text) / e.transcript.text.length) * 100) / 100 : 0;
              previousPartial = e.transcript.text;
              await write({ results: [{ alternatives: [{ transcript: e.transcript.text }], is_final: false, stability, result_end_time: end }] });
              continue;
            }
            previousPartial = '';
            if (single) await write({ speech_event_type: 'END_OF_SINGLE_UTTERANCE', speech_event_time: end });
            await write({ results: [{ alternatives: alternatives(e.transcript, e.alternatives, config!), is_final: true, result_end_time: end, language_code: config!.language_code || 'en-us' }] });
            if (single) done = true;
          }
        };
        const handle = async (req: StreamingRequest) => {
          if (req.streaming_request === 'streaming_config') {
            if (config) throw invalidArgument('streaming_config', 'may only be sent in the first request');
            config = checkConfig(req.streaming_config?.config, 'streaming_config.config');
            single = req.streaming_config?.single_utterance ?? false;
            interim = req.streaming_config?.interim_results ?? false;
            const model = resolveTaskModel(ctx.repository, 'speech-recognition', config.model || undefined);
            leaveAdmission = ctx.admission.enter(model.name, 'stream');
            streamModel = model.name;
            ctx.metrics.activeStreams.inc({ model: model.name, api: 'google_speech' });
            stream = new RecognizerStream(model.acoustic!, { sampleRate: config.sample_rate_hertz, ...decodingFor(model.acoustic!, decodingRequest(config, true)) });
            return;
          }
          if (!stream || !config) throw invalidArgument('streaming_config', 'the first request must carry streaming_config, before any audio_content');
          const audio = req.audio_content ?? new Uint8Array(0);
          const maxMessage = ctx.config.limits.maxAudioMessageBytes;
          if (audio.byteLength > maxMessage) throw invalidArgument('audio_content', `${audio.byteLength} bytes is over the limit of ${maxMessage} bytes per request`);
          if (audio.byteLength % 2 !== 0) throw invalidArgument('audio_content', 'LINEAR16 audio must have an even number of bytes');
          bytes += audio.byteLength;
          if (bytes / 2 / config.sample_rate_hertz > maxSeconds) throw new SeqserveError('out_of_range', `the stream is longer than the limit of ${maxSeconds} s of audio`);
          await send(await stream.push(pcm16ToFloat(audio)));
        };
        // Requests are handled one at a time; reading pauses while one is in progress (backpressure).
        await new Promise<void>((resolve, reject) => {
          let chain = Promise.resolve();
          let failed = false;
          call.on('data', (req: StreamingRequest) => {
            call.pause();
            chain = chain
              .then(() => (failed || done ? undefined : handle(req)))
              .then(
                () => {
                  call.resume();
                },
                (err: unknown) => {
                  failed = true;
                  reject(err);
                },
              );
          });
          call.on('end', () => {
            chain = chain.then(() => resolve(), reject);
          });
          call.on('cancelled', () => resolve());
          call.on('error', () => resolve());
        });
        if (call.cancelled) return;
        if (!config) throw invalidArgument('streaming_config', 'the stream ended without a streaming_config');
        if (stream && !done) await send(await stream.end());
        ctx.metrics.requests.inc({ model: config.model || 'default', endpoint: 'speech_streaming', outcome: 'ok' });
      };
      const release = () => {
        if (streamModel) ctx.metrics.activeStreams.dec({ model: streamModel, api: 'google_speech' });
        streamModel = undefined;
        leaveAdmission?.();
      };
      run().then(
        () => {
          release();
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          release();
          if (call.cancelled) return;
          const status = grpcError(err, ctx.log);
          ctx.metrics.requests.inc({ model: 'speech', endpoint: 'speech_streaming', outcome: err instanceof SeqserveError ? err.code : 'internal' });
          call.emit('error', status);
        },
      );
    },

    Recognize: (call: ServerUnaryCall<{ config: RecognitionConfig | null; audio: { content?: Uint8Array; uri?: string } | null }, unknown>, callback: sendUnaryData<unknown>) => {
      const run = async () => {
        const req = call.request;
        const content = req.audio?.content;
        if (!content || content.byteLength === 0) throw invalidArgument('audio.content', 'is required (inline audio; uri is not supported)');
        const isWav = content.byteLength > 12 && new TextDecoder().decode(content.subarray(0, 4)) === 'RIFF';
        if (!req.config) throw invalidArgument('config', 'is required');
        const config = isWav ? { ...req.config, encoding: 'LINEAR16', sample_rate_hertz: req.config.sample_rate_hertz || 16000 } : checkConfig(req.config, 'config');
        if (!isWav && content.byteLength % 2 !== 0) throw invalidArgument('audio.content', 'LINEAR16 audio must have an even number of bytes');
        const audio = isWav ? decodeWav(content, 'audio.content') : { samples: pcm16ToFloat(content), sampleRate: config.sample_rate_hertz };
        const seconds = audio.samples.length / audio.sampleRate;
        if (seconds > ctx.config.limits.maxAudioSeconds) throw new SeqserveError('out_of_range', `audio.content: ${seconds.toFixed(1)} s is over the limit of ${ctx.config.limits.maxAudioSeconds} s`);
        const model = resolveTaskModel(ctx.repository, 'speech-recognition', config.model || undefined);
        return ctx.admission.run(model.name, async () => {
          const results = [];
          for await (const e of transcribeAudio(model.acoustic!, audio.samples, audio.sampleRate, undefined, decodingRequest(config))) {
            if (e.type === 'final') results.push({ alternatives: alternatives(e.transcript, e.alternatives, config), result_end_time: duration(e.transcript.end), language_code: config.language_code || 'en-us' });
          }
          return { results, total_billed_time: duration(Math.ceil(seconds)) };
        });
      };
      ctx.metrics.track('speech', 'speech_recognize', run).then(
        (res) => callback(null, res),
        (err: unknown) => callback(grpcError(err, ctx.log)),
      );
    },
  };
}
