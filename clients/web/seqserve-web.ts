/**
 * seqserve's web client: loads a model from a seqserve server's repository endpoint
 * (`GET /v1/models/{model}/files/{file}`) and runs it in the page with onnxruntime-web (wasm),
 * through the very same core modules the server uses (manifest, tokenizers, CTC decoders and the
 * streaming recognizer, CRF decoding, generation engine, memory network). Only the ONNX Runtime
 * binding differs.
 *
 * It uses onnxruntime-web's plain wasm build, not the WebGPU one: onnxruntime-web has no WebGPU
 * kernels for LSTM/GRU, and on CPU the WebGPU-enabled build ran these graphs 1.3-2.8x slower
 * (`BENCH_ONLY=page npm run bench`).
 *
 *   const chat = await loadWebModel('https://seqserve.example', 'chat');
 *   for await (const delta of chat.chat([{ role: 'user', content: 'hello' }], { temperature: 0 })) ...
 *   const { slots } = await (await loadWebModel(url, 'slots')).slots('fly to Denver on Monday');
 *   const [{ scores, attention }] = await (await loadWebModel(url, 'spam')).classify(['Subject: FREE money'], { attention: true });
 *   for await (const t of (await loadWebModel(url, 'caption')).caption(pngBlob)) ...
 *   const [{ text, attention }] = await (await loadWebModel(url, 'g2p')).complete(['taipei'], { include_attention: true });
 *   for await (const e of (await loadWebModel(url, 'asr')).transcribe(await decodeAudioFile(wav))) ...
 *   const { answer, attention } = await (await loadWebModel(url, 'vqa')).vqa(pngBlob, 'what colour is the circle?');
 *   const [{ embedding }] = await (await loadWebModel(url, 'audio_word2vec')).audioEmbeddings([await decodeAudioFile(wav)]);
 */
import * as ort from 'onnxruntime-web/wasm';
import { type ChatCompletionRequest, generateRequest, promptTokens } from '../../server/tasks/chat/request.ts';
import { captionRequest } from '../../server/tasks/caption/request.ts';
import { MAX_PROMPTS, text2text } from '../../server/tasks/text2text/index.ts';
import { CompletionRequest, completionTaskRequest } from '../../server/tasks/text2text/request.ts';
import { completionChoices, type CompletionChoice } from '../../server/tasks/text2text/choices.ts';
import type { DecodedAudio } from '../../server/core/audio/decode-wav.ts';
import { axisMaximums, signatureFromMetadata, type BoundOptions } from '../../server/core/feed-check.ts';
import type { GraphRunner } from '../../server/core/graph-runner.ts';
import { imageTensor } from '../../server/core/image/image-tensor.ts';
import { readManifest, type ImageSpec, type Manifest, type VideoSpec } from '../../server/core/manifest.ts';
import { answerSpokenQuestion, type SpeechQaEvent } from '../../server/core/qa/spoken-qa.ts';
import type { SlotFillingResult } from '../../server/core/slots/slot-filler.ts';
import type { ClassificationResult, ClassifyOptions } from '../../server/core/classify/text-classifier.ts';
import { decodingFor, type DecodingRequest } from '../../server/core/speech/decoding-choice.ts';
import { RecognizerStream, type AcousticModel, type RecognitionEvent } from '../../server/core/speech/recognizer-stream.ts';
import { transcribeAudio } from '../../server/core/speech/transcribe-audio.ts';
import { taskModule, type TaskModelOf, type TaskName } from '../../server/tasks/registry.ts';
import type { TaskPlatform } from '../../server/tasks/task-module.ts';
import type { ImageSource } from '../../server/core/generation/generation-engine.ts';
import { checkFrameCount, type FramePixels, sampleFrames, videoTensor } from '../../server/core/video/video-tensor.ts';
import type { VqaResult } from '../../server/core/vqa/visual-qa.ts';
import type { EmbeddedAudio } from '../../server/core/audio-embedding/audio-encoder.ts';
import { fetchModelFile, modelFileUrl } from './model-files.ts';
import { webGraphRunner, type WebSession } from './web-graph-runner.ts';
import { SessionWorker } from './worker-session.ts';

export { captureMicrophone, decodeAudioFile, microphoneError, type MicrophoneCapture } from './audio-input.ts';
export type { ClassificationResult, CompletionChoice, DecodedAudio, RecognitionEvent, RecognizerStream, SpeechQaEvent, SlotFillingResult };

export interface WebModelOptions {
  /** Where onnxruntime-web's .wasm files are served (seqserve serves them at /ort/). */
  wasmPaths?: string;
  /** Keep downloaded files in the Cache API for offline use (default true where available). */
  cache?: boolean;
  /**
   * wasm threads per session (they need a cross-origin isolated page, as seqserve serves it);
   * onnxruntime-web's default is half the cores, at most 4. Set before the first model loads.
   */
  numThreads?: number;
  /** Sent as `authorization: Bearer <key>` when the server requires API keys. */
  apiKey?: string;
  /**
   * Run the model's sessions in a Web Worker (the page's model executor, `/web/session-worker.js`),
   * so a graph run never blocks the page's thread; the task's JavaScript (tokenizing, the generation
   * loop, decoding) stays on the page.
   */
  worker?: boolean;
  /** Each model file's download as it arrives (a spoken-QA model's recognizer reports its own files too). */
  onProgress?: (progress: WebModelProgress) => void;
}

/** A model file's download: bytes received so far and its size (when the server sent content-length). */
export interface WebModelProgress {
  model: string;
  file: string;
  loaded: number;
  total: number | undefined;
}

export interface ModelToken {
  token: string;
  delta: string;
  logprob: number;
  /** Attention over the source (chat: source tokens; captioning: image regions, row-major over the manifest's grid). */
  attention?: number[];
}

export interface WebModel {
  name: string;
  manifest: Manifest;
  slots(text: string): Promise<SlotFillingResult>;
  /** Text classification of the texts in one run: every label best first, and each token's attention weight when asked. */
  classify(texts: string[], options?: Omit<ClassifyOptions, 'field'>): Promise<ClassificationResult[]>;
  /**
   * Text to text (g2p: a word in, its pronunciation out), as `POST /v1/completions` answers: the
   * choices of every prompt (choice index = prompt × n + choice), with the attention alignment and
   * log-probabilities when asked. `options` takes that endpoint's parameters.
   */
  complete(prompts: string[], options?: Partial<Omit<CompletionRequest, 'prompt' | 'stream'>>): Promise<CompletionChoice[]>;
  /**
   * Caption tokens as they are generated (greedy unless options say otherwise). A video caption
   * model takes a clip: an animated GIF or WebP Blob (decoded by WebCodecs' ImageDecoder where the
   * browser has it), or the frames in order; its attention is over the clip's sampled frames.
   */
  caption(image: Blob | ImageBitmap | readonly (Blob | ImageBitmap)[], options?: { temperature?: number; seed?: number; includeAttention?: boolean }): AsyncGenerator<ModelToken>;
  /** Reply text deltas as they are generated. */
  chat(messages: ChatCompletionRequest['messages'], options?: Partial<ChatCompletionRequest>): AsyncGenerator<string>;
  /** The source tokens the chat model reads, and its reply token by token with attention over them. */
  chatTokens(messages: ChatCompletionRequest['messages'], options?: Partial<ChatCompletionRequest>): { sourceTokens: string[]; tokens: AsyncGenerator<ModelToken> };
  /** Recognition of a whole recording: partials as it proceeds, a final per utterance (with word timings). */
  transcribe(audio: DecodedAudio, options?: DecodingRequest & { signal?: AbortSignal }): AsyncGenerator<RecognitionEvent>;
  /** A live recognition stream (e.g. the microphone) for audio at `sampleRate`: push() blocks as they come, end() at the end. */
  recognizer(sampleRate: number, options?: DecodingRequest): RecognizerStream;
  /** Spoken QA: the story (and a spoken question) recognised by the manifest's recognizer model, loaded from the same server. */
  speechQa(story: DecodedAudio, question: string | DecodedAudio, choices: string[], options?: { signal?: AbortSignal }): AsyncGenerator<SpeechQaEvent>;
  /** Visual question answering: the answer, the top answers with probabilities, the attention over the image's region grid (as POST /v1/vqa). */
  vqa(image: Blob | ImageBitmap, question: string, options?: { topK?: number }): Promise<VqaResult>;
  /** Audio word2vec: a unit vector per recording of a spoken word or short phrase, its silence trimmed (as POST /v1/audio/embeddings). */
  audioEmbeddings(audios: DecodedAudio[]): Promise<EmbeddedAudio[]>;
  /** A spoken document's candidate segments (words, pairs, sliding windows), each with its vector (as a collection indexes them). */
  audioDocument(audio: DecodedAudio): Promise<EmbeddedAudio[]>;
  release(): Promise<void>;
}

/** Image pixels as a canvas draws them: stretched to the model's size on white, RGBA. */
async function canvasPixels(image: Blob | ImageBitmap, spec: ImageSpec): Promise<ImageSource> {
  const bitmap = image instanceof Blob ? await createImageBitmap(image) : image;
  const canvas = new OffscreenCanvas(spec.width, spec.height);
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, spec.width, spec.height);
  g.drawImage(bitmap, 0, 0, spec.width, spec.height);
  return imageTensor(g.getImageData(0, 0, spec.width, spec.height).data, spec.width, spec.height, 4, spec);
}

/** One frame drawn as a canvas draws it: stretched to the clip's frame size on white, RGBA. */
function canvasFrame(frame: CanvasImageSource, spec: VideoSpec): FramePixels {
  const canvas = new OffscreenCanvas(spec.width, spec.height);
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, spec.width, spec.height);
  g.drawImage(frame, 0, 0, spec.width, spec.height);
  return { pixels: g.getImageData(0, 0, spec.width, spec.height).data, width: spec.width, height: spec.height, channels: 4 };
}

/** An image's type from its first bytes (a file served as application/octet-stream): GIF, WebP, PNG, else JPEG. */
function imageType(bytes: Uint8Array): string {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(1, 4) === 'PNG') return 'image/png';
  return 'image/jpeg';
}

/**
 * A clip as the server takes it (server/images/decode-video.ts): an animated GIF/WebP through
 * WebCodecs' ImageDecoder (frame durations for uniform-time sampling), or pictures in order; only
 * the sampled frames are drawn; the manifest's frame-count limits refuse the same clips.
 */
async function clipPixels(input: Blob | ImageBitmap | readonly (Blob | ImageBitmap)[], spec: VideoSpec): Promise<ImageSource> {
  if (Array.isArray(input)) {
    const list = input as readonly (Blob | ImageBitmap)[];
    checkFrameCount(list.length, spec, 'frames');
    const picks = sampleFrames(list.length, spec);
    const drawn = new Map<number, FramePixels>();
    for (const k of new Set(picks)) {
      const f = list[k];
      drawn.set(k, canvasFrame(f instanceof Blob ? await createImageBitmap(f) : f, spec));
    }
    return videoTensor(
      picks.map((k) => drawn.get(k)!),
      spec,
    );
  }
  if (!(input instanceof Blob)) {
    // a bitmap is one still frame (refused unless the manifest's minFrames is 1)
    checkFrameCount(1, spec, 'image');
    const frame = canvasFrame(input as ImageBitmap, spec);
    return videoTensor(
      sampleFrames(1, spec).map(() => frame),
      spec,
    );
  }
  if (typeof ImageDecoder === 'undefined') throw new Error('this browser has no ImageDecoder (WebCodecs) to read an animated image: pass the frames instead');
  const data = new Uint8Array(await input.arrayBuffer());
  const decoder = new ImageDecoder({ data, type: input.type.startsWith('image/') ? input.type : imageType(data) });
  try {
    await decoder.tracks.ready;
    const track = decoder.tracks.selectedTrack;
    const count = track?.frameCount ?? 1;
    checkFrameCount(count, spec, 'image');
    const delays: number[] = [];
    const frames = new Map<number, FramePixels>();
    for (let k = 0; k < count; k++) {
      const { image } = await decoder.decode({ frameIndex: k });
      delays.push((image.duration ?? 0) / 1000);
      image.close();
    }
    const picks = sampleFrames(count, spec, delays);
    for (const k of new Set(picks)) {
      const { image } = await decoder.decode({ frameIndex: k });
      frames.set(k, canvasFrame(image, spec));
      image.close();
    }
    return videoTensor(
      picks.map((k) => frames.get(k)!),
      spec,
    );
  } finally {
    decoder.close();
  }
}

/** A task name with the model its task module builds. */
type WebTaskModel = { [T in TaskName]: { task: T; model: TaskModelOf<T> } }[TaskName];

function shapesOf(session: WebSession): Record<string, number[]> {
  return Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : []]));
}

let pageWorker: SessionWorker | undefined;
/** The page's one session worker, started on first use. */
function sessionWorker(baseUrl: string): SessionWorker {
  return (pageWorker ??= new SessionWorker(`${baseUrl}/web/session-worker.js`));
}

/** How the page runs task graphs: 32 sequences decoded together, each speech stream's steps alone. */
const WEB_BOUNDS: BoundOptions = { decoderRows: 32, streamBatch: 1 };

export async function loadWebModel(baseUrl: string, name: string, options: WebModelOptions = {}): Promise<WebModel> {
  ort.env.wasm.wasmPaths = options.wasmPaths ?? `${baseUrl}/ort/`;
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
  const useCache = options.cache ?? true;
  const onProgress = options.onProgress;
  const read = (file: string) =>
    fetchModelFile(modelFileUrl(baseUrl, name, file), useCache, options.apiKey, onProgress && ((loaded, total) => onProgress({ model: name, file, loaded, total })));
  const manifest = readManifest(new TextDecoder().decode(await read('manifest.json')), modelFileUrl(baseUrl, name, 'manifest.json')); // the server's own parse
  const sessions = new Map<string, WebSession & { release(): Promise<void> }>();
  const executor = options.worker ? sessionWorker(baseUrl) : undefined;
  for (const [graphName, graph] of Object.entries(manifest.graphs)) {
    const bytes = await read(graph.file);
    sessions.set(
      graphName,
      executor ? await executor.create(bytes, ort.env.wasm.wasmPaths as string, options.numThreads) : await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }),
    );
  }
  // every run's feeds are checked against the graph's signature before onnxruntime-web sees them,
  // its axes against their bounds (the manifest's maxShapes and the task's, as on the server)
  const runners: Record<string, GraphRunner> = {};
  for (const [k, s] of sessions) {
    const { maximums, problems } = axisMaximums(name, k, manifest, signatureFromMetadata(s.inputMetadata), WEB_BOUNDS);
    if (problems.length) throw new Error(problems.map((p) => `${modelFileUrl(baseUrl, name, 'manifest.json')}: ${p}`).join('; '));
    runners[k] = webGraphRunner(s, `${name}.${k}`, { states: manifest.graphs[k].states, audio: manifest.audio, maximums });
  }
  // the task's model, built by its task module as on the server; in the page each speech stream
  // runs its own steps as they come (no other streams to batch with); a generation engine takes as
  // many waiting requests as one text2text request has prompts (each prompt is an engine request)
  const platform: TaskPlatform = { streamStep: (_, runner) => (feeds) => runner.run(feeds), generation: () => ({ maxRows: WEB_BOUNDS.decoderRows!, maxWaiting: MAX_PROMPTS }) };
  const inputShapes = Object.fromEntries([...sessions].map(([k, s]) => [k, shapesOf(s)]));
  const loaded = { task: manifest.task, model: await taskModule(manifest.task).load({ manifest, read, runners, inputShapes, platform }) } as WebTaskModel;
  const slotFiller = loaded.task === 'slot-filling' ? loaded.model : undefined;
  const classifier = loaded.task === 'text-classification' ? loaded.model : undefined;
  const text2textModel = loaded.task === 'text2text' ? loaded.model : undefined;
  const engine = loaded.task === 'chat' || loaded.task === 'caption' ? loaded.model : undefined;
  const acoustic = loaded.task === 'speech-recognition' ? loaded.model : undefined;
  const memory = loaded.task === 'speech-qa' ? loaded.model : undefined;
  const visualQa = loaded.task === 'visual-qa' ? loaded.model : undefined;
  const audioEncoder = loaded.task === 'audio-embedding' ? loaded.model : undefined;
  let recognizerModel: Promise<WebModel & { acoustic: AcousticModel }> | undefined;

  const need = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`model "${name}" is a ${manifest.task} model; it cannot do ${what}`);
    return x;
  };
  const chatEngine = () => need(manifest.task === 'chat' ? engine : undefined, 'chat');

  const model: WebModel & { acoustic?: AcousticModel } = {
    name,
    manifest,
    ...(acoustic ? { acoustic } : {}),
    slots: (text) => need(slotFiller, 'slot filling').fill(text),
    classify: (texts, opts = {}) => need(classifier, 'text classification').classify(texts, opts),
    async complete(prompts, opts = {}) {
      const m = need(text2textModel, 'text to text');
      const body = CompletionRequest.parse({ ...opts, prompt: prompts });
      const request = completionTaskRequest(body, m.engine.model.spec.maxNewTokens);
      return completionChoices(m, request, text2text.run(m, request, new AbortController().signal), body.echo ?? false);
    },
    async *caption(image, opts = {}) {
      const e = need(manifest.task === 'caption' ? engine : undefined, 'captioning');
      const video = e.model.video;
      if (!video && (Array.isArray(image) || !(image instanceof Blob || image instanceof ImageBitmap))) throw new Error(`${name} captions still images; pass one image`);
      const pixels = video ? await clipPixels(image, video) : await canvasPixels(image as Blob | ImageBitmap, e.model.image!);
      const request = captionRequest(
        e.model,
        { temperature: opts.temperature ?? 0, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), include_attention: opts.includeAttention ?? false },
        pixels,
      );
      for await (const ev of e.generate(request)) {
        if (ev.type === 'token') yield { token: ev.piece, delta: ev.delta, logprob: ev.logProb, ...(ev.attention ? { attention: ev.attention } : {}) };
      }
    },
    async *chat(messages, opts = {}) {
      for await (const t of model.chatTokens(messages, opts).tokens) if (t.delta) yield t.delta;
    },
    chatTokens(messages, opts = {}) {
      const e = chatEngine();
      const { tokens, sourcePieces } = promptTokens(e.model, messages);
      const events = e.generate(generateRequest(e.model, { messages, ...opts } as ChatCompletionRequest, tokens));
      async function* run(): AsyncGenerator<ModelToken> {
        for await (const ev of events) {
          if (ev.type === 'token') yield { token: ev.piece, delta: ev.delta, logprob: ev.logProb, ...(ev.attention ? { attention: ev.attention } : {}) };
          else if (ev.delta) yield { token: '', delta: ev.delta, logprob: 0 }; // text a stop string held back
        }
      }
      return { sourceTokens: sourcePieces, tokens: run() };
    },
    transcribe(audio, opts = {}) {
      const { signal, ...decoding } = opts;
      return transcribeAudio(need(acoustic, 'speech recognition'), audio.samples, audio.sampleRate, signal, decoding);
    },
    recognizer(sampleRate, opts = {}) {
      const a = need(acoustic, 'speech recognition');
      return new RecognizerStream(a, { sampleRate, ...decodingFor(a, { live: true, ...opts }) });
    },
    async *speechQa(story, question, choices, opts = {}) {
      const m = need(memory, 'spoken question answering');
      recognizerModel ??= loadWebModel(baseUrl, m.spec.recognizer, options) as Promise<WebModel & { acoustic: AcousticModel }>;
      const recognizer = (await recognizerModel).acoustic;
      yield* answerSpokenQuestion({
        memory: m,
        recognizer,
        story,
        question: typeof question === 'string' ? { text: question } : { audio: question },
        choices,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    },
    async vqa(image, question, opts = {}) {
      const m = need(visualQa, 'visual question answering');
      const [result] = await m.answer([{ image: await canvasPixels(image, m.image), question }], opts.topK ?? 5);
      return result;
    },
    audioEmbeddings: (audios) => need(audioEncoder, 'audio embedding').embedWords(audios),
    audioDocument: (audio) => need(audioEncoder, 'audio embedding').embedDocument(audio),
    async release() {
      for (const s of sessions.values()) await s.release();
      if (recognizerModel) await (await recognizerModel).release();
    },
  };
  return model;
}
