/**
 * A typed client of seqserve's HTTP API (KServe v2 REST, repository, task endpoints). Uses fetch,
 * so it runs in Node and in browsers.
 */
import { binaryBody } from '../../server/core/kserve-binary.ts';
import type { SpeechQaResult as CoreSpeechQaResult } from '../../server/core/qa/spoken-qa.ts';
import { decodeRaw, encodeRaw, toPlain, type ClientTensor } from './tensors.ts';
import { HTTP_STATUS_OF_CODE } from '../../server/core/errors.ts';

export class SeqserveHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field the error is about, when the server named one. */
    readonly param?: string,
  ) {
    super(message);
    this.name = 'SeqserveHttpError';
  }
}

export interface SlotResult {
  model: string;
  tokens: string[];
  tags: string[];
  slots: { name: string; value: string; start: number; end: number; confidence: number }[];
}

/** One label of a `POST /predict` answer (text-embeddings-inference's shape). */
export interface Prediction {
  label: string;
  score: number;
}

/** A text's predictions with the attention weight of each token (seqserve's `return_attention`). */
export interface PredictionWithAttention {
  predictions: Prediction[];
  attention: { text: string; start: number; end: number; weight: number }[];
  truncated: boolean;
}

/**
 * A text's predictions with each token's share of each label's raw score (seqserve's
 * `return_contributions`, models with per-token logits): shares summed over the tokens plus `rest` are
 * the raw scores.
 */
export interface PredictionWithContributions {
  predictions: Prediction[];
  contributions: { tokens: { text: string; start: number; end: number; logits: Record<string, number> }[]; rest: Record<string, number> };
  truncated: boolean;
}

export interface PredictOptions {
  model?: string;
  truncate?: boolean;
  rawScores?: boolean;
}

/** Options of a text2text completion (OpenAI legacy completions, `POST /v1/completions`). */
export interface CompletionOptions {
  model?: string;
  /** Beam search of this width (OpenAI's best_of); the n best beams come back. */
  bestOf?: number;
  n?: number;
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  /** Top alternatives per token (0-5). */
  logprobs?: number;
  /** The attention alignment of each choice (seqserve extension). */
  attention?: boolean;
}

/** One choice of a completion; `prompt` is the index of its prompt. */
export interface CompletionChoice {
  prompt: number;
  text: string;
  finishReason: string;
  logprobs?: { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[]; text_offset: number[] } | null;
  /** With `attention`: a row per output token over the prompt's source tokens. */
  attention?: { source_tokens: string[]; output_tokens: string[]; weights: number[][] };
}

export interface TranscriptionResult {
  text: string;
  duration?: number;
  segments?: { id: number; start: number; end: number; text: string; confidence: number }[];
  words?: { word: string; start: number; end: number; confidence: number }[];
}

export interface ModelStatus {
  name: string;
  version: string;
  state: string;
  reason?: string;
  /** Of a model that serves: its manifest was inferred from the graph (no manifest.json). */
  note?: string;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters?: Record<string, string>;
}

export interface InferOptions {
  id?: string;
  outputs?: string[];
  /** Send inputs and receive outputs with the binary tensor extension. */
  binary?: boolean;
  version?: string;
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: (number | boolean | string)[] }[];
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type ChatOptions = Record<string, unknown> & { model?: string; temperature?: number; max_tokens?: number; seed?: number };

export interface CaptionToken {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[];
  /** Attention over the image regions (row-major over `attention_grid`), or over a clip's sampled frames (`attention_frames` of them), with `include_attention`. */
  attention?: number[];
}

export interface CaptionResult {
  caption: string;
  finish_reason: 'stop' | 'length';
  tokens: CaptionToken[];
  attention_grid?: [number, number] | null;
  /** A video caption model's sampled frames, which attention is over (with `include_attention`). */
  attention_frames?: number;
  model: string;
}

export type CaptionOptions = Record<string, unknown> & { model?: string; include_attention?: boolean; temperature?: number; max_tokens?: number };

/** A line read by POST /v1/ocr/lines: its text, and each character with its confidence and its x (centre, in the image's pixels). */
export interface OcrLine {
  text: string;
  confidence: number;
  characters: { char: string; confidence: number; x: number }[];
}

export interface OcrOptions {
  model?: string;
  /** greedy (best path, the bundled model's default) or CTC prefix beam search */
  decoding?: 'greedy' | 'beam';
}

/** The POST /v1/vqa answer: the answer, the top_k answers with probabilities, the words read, the attention over the region grid. */
export interface VqaAnswer {
  model: string;
  answer: string;
  answers: { answer: string; probability: number }[];
  question_words: string[];
  /** The last hop's weights (row-major over grid) and every hop's. */
  attention?: { grid: [number, number]; weights: number[]; hops: number[][] };
}

/** The /v1/speech-qa response: the pipeline's result (the core's type, as the browser client uses it too) and the model. */
export type SpeechQaResult = CoreSpeechQaResult & { model: string };

export type SpeechQaEvent =
  | { type: 'story.partial' | 'story.sentence'; sentence: number; text: string }
  | { type: 'question'; text: string; spoken: boolean }
  | { type: 'answer.token'; token: string; logprob: number }
  | ({ type: 'result' } & SpeechQaResult);

export interface ChatResult {
  text: string;
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** One vector of POST /v1/audio/embeddings: a unit vector, and the seconds of the file it embeds (silence trimmed). */
export interface AudioEmbedding {
  object: 'embedding';
  index: number;
  embedding: number[];
  start: number;
  end: number;
}

/** A hit of spoken term search: where in which document, and the cosine similarity. */
export interface SpokenHit {
  document_id: string;
  start: number;
  end: number;
  score: number;
}

/** A spoken-document collection (GET /v1/audio/collections/{name}). */
export interface AudioCollection {
  name: string;
  model: string;
  dimensions: number;
  documents: { id: string; seconds: number; segments: number }[];
  segments: number;
  seconds: number;
  limits: { maxDocuments: number; maxSegments: number; maxSeconds: number };
}

/** The `data:` payloads of a server-sent-events response body. */
export async function* sseData(res: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('');
      if (data) yield data;
    }
  }
}

/**
 * The JSON events of a seqserve server-sent-events response until `[DONE]` or the end. A stream
 * that fails ends with seqserve's one in-stream error event, `{"type": "error", "error": {message,
 * type, param, code}}`, which is raised here as a SeqserveHttpError (with `param`).
 */
export async function* sseEvents<T = Record<string, unknown>>(res: Response): AsyncGenerator<T> {
  for await (const data of sseData(res)) {
    if (data === '[DONE]') return;
    const event = JSON.parse(data) as T & { error?: { message?: string; code?: string; param?: string | null } };
    if (event.error)
      throw new SeqserveHttpError(
        (HTTP_STATUS_OF_CODE as Record<string, number>)[event.error.code ?? ''] ?? 500,
        event.error.message ?? 'the stream failed',
        event.error.param ?? undefined,
      );
    yield event as T;
  }
}

export class SeqserveHttpClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly options: { apiKey?: string; fetch?: typeof fetch } = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async request(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
    const auth: Record<string, string> = this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
    const res = await (this.options.fetch ?? fetch)(`${this.base}${path}`, { method, body, headers: { ...auth, ...headers } });
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        // KServe endpoints answer {"error": "..."}; OpenAI-style ones {"error": {"message": "..."}}
        const error = (JSON.parse(text) as { error?: string | { message?: string } }).error;
        message = (typeof error === 'string' ? error : error?.message) ?? text;
      } catch {
        /* not JSON */
      }
      throw new SeqserveHttpError(res.status, `${method} ${path}: ${res.status} ${message}`);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body), { 'content-type': 'application/json' });
    return (await res.json()) as T;
  }

  async live(): Promise<boolean> {
    return (await this.json<{ live: boolean }>('GET', '/v2/health/live')).live;
  }

  async ready(): Promise<boolean> {
    return (await this.json<{ ready: boolean }>('GET', '/v2/health/ready')).ready;
  }

  serverMetadata(): Promise<{ name: string; version: string; extensions: string[] }> {
    return this.json('GET', '/v2');
  }

  modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    return this.json('GET', `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`);
  }

  async modelReady(model: string): Promise<boolean> {
    const res = await (this.options.fetch ?? fetch)(`${this.base}/v2/models/${encodeURIComponent(model)}/ready`);
    return res.ok;
  }

  repositoryIndex(): Promise<ModelStatus[]> {
    return this.json('POST', '/v2/repository/index');
  }

  load(model: string): Promise<ModelStatus> {
    return this.json('POST', `/v2/repository/models/${encodeURIComponent(model)}/load`);
  }

  unload(model: string): Promise<ModelStatus> {
    return this.json('POST', `/v2/repository/models/${encodeURIComponent(model)}/unload`);
  }

  slots(text: string, model?: string): Promise<SlotResult> {
    return this.json('POST', '/v1/slots', model === undefined ? { text } : { text, model });
  }

  /** Text classification (TEI-compatible `POST /predict`): each text's labels, best first; texts go in one batch. */
  predict(texts: string[], options?: PredictOptions): Promise<Prediction[][]>;
  /** With each token's attention weight and character offsets. */
  predict(texts: string[], options: PredictOptions & { attention: true; contributions?: false }): Promise<PredictionWithAttention[]>;
  /** With each token's share of each label's raw score and character offsets (and its attention weight with `attention`). */
  predict(
    texts: string[],
    options: PredictOptions & { attention?: boolean; contributions: true },
  ): Promise<(PredictionWithContributions & Partial<Pick<PredictionWithAttention, 'attention'>>)[]>;
  predict(
    texts: string[],
    options: PredictOptions & { attention?: boolean; contributions?: boolean } = {},
  ): Promise<Prediction[][] | PredictionWithAttention[] | PredictionWithContributions[]> {
    return this.json('POST', '/predict', {
      inputs: texts.map((t) => [t]),
      ...(options.truncate ? { truncate: true } : {}),
      ...(options.rawScores ? { raw_scores: true } : {}),
      ...(options.attention ? { return_attention: true } : {}),
      ...(options.contributions ? { return_contributions: true } : {}),
      ...(options.model === undefined ? {} : { model: options.model }),
    });
  }

  /**
   * Text to text (`POST /v1/completions`, e.g. g2p: a word in, its ARPAbet pronunciation out): the
   * choices of every prompt, prompt by prompt (n per prompt); the prompts decode together.
   */
  async complete(prompts: string[], options: CompletionOptions = {}): Promise<CompletionChoice[]> {
    const n = options.n ?? 1;
    const res = await this.json<{
      choices: { text: string; index: number; finish_reason: string; logprobs: CompletionChoice['logprobs']; attention?: CompletionChoice['attention'] }[];
    }>('POST', '/v1/completions', {
      prompt: prompts,
      ...(options.model === undefined ? {} : { model: options.model }),
      ...(options.bestOf === undefined ? {} : { best_of: options.bestOf }),
      ...(options.n === undefined ? {} : { n: options.n }),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.logprobs === undefined ? {} : { logprobs: options.logprobs }),
      ...(options.attention ? { include_attention: true } : {}),
    });
    return res.choices.map((c) => ({
      prompt: Math.floor(c.index / n),
      text: c.text,
      finishReason: c.finish_reason,
      ...(c.logprobs ? { logprobs: c.logprobs } : {}),
      ...(c.attention ? { attention: c.attention } : {}),
    }));
  }

  /** OpenAI-compatible transcription of a WAV file (`verbose_json`: segments and word times). */
  async transcribe(wav: Uint8Array, options: { model?: string; format?: 'json' | 'text' | 'verbose_json' } = {}): Promise<TranscriptionResult> {
    const res = await this.request('POST', '/v1/audio/transcriptions', this.transcriptionForm(wav, { ...options, format: options.format ?? 'verbose_json' }));
    return (options.format === 'text' ? { text: await res.text() } : await res.json()) as TranscriptionResult;
  }

  /**
   * Streaming transcription: `partial` is the utterance being recognised (each replaces the last),
   * `delta` appends a finished utterance, `done` is the whole text.
   */
  async *transcribeStream(wav: Uint8Array, options: { model?: string } = {}): AsyncGenerator<{ type: 'partial' | 'delta' | 'done'; text: string }> {
    const form = this.transcriptionForm(wav, options);
    form.set('stream', 'true');
    const res = await this.request('POST', '/v1/audio/transcriptions', form);
    for await (const e of sseEvents<{ type: string; delta?: string; text?: string }>(res)) {
      if (e.type === 'transcript.text.partial') yield { type: 'partial', text: e.text ?? '' };
      if (e.type === 'transcript.text.delta') yield { type: 'delta', text: e.delta ?? '' };
      if (e.type === 'transcript.text.done') yield { type: 'done', text: e.text ?? '' };
    }
  }

  /** A chat reply (OpenAI chat completions); `options` takes any of its parameters (temperature, max_tokens, seed, ...). */
  async chat(messages: ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    const res = await this.json<{ choices: { message: { content: string }; finish_reason: string }[]; usage: ChatResult['usage'] }>('POST', '/v1/chat/completions', {
      ...options,
      messages,
      stream: false,
    });
    return { text: res.choices[0]?.message.content ?? '', finishReason: res.choices[0]?.finish_reason ?? 'stop', usage: res.usage };
  }

  /** A streamed chat reply: text deltas as tokens are generated, then the finish reason. */
  async *chatStream(messages: ChatMessage[], options: ChatOptions = {}): AsyncGenerator<{ type: 'delta'; text: string } | { type: 'finish'; reason: string }> {
    const res = await this.request('POST', '/v1/chat/completions', JSON.stringify({ ...options, messages, stream: true }), { 'content-type': 'application/json' });
    for await (const chunk of sseEvents<{ choices?: { delta: { content?: string }; finish_reason: string | null }[] }>(res)) {
      for (const c of chunk.choices ?? []) {
        if (c.delta.content) yield { type: 'delta', text: c.delta.content };
        if (c.finish_reason) yield { type: 'finish', reason: c.finish_reason };
      }
    }
  }

  /** The caption of an image (PNG, JPEG, ...; for a video caption model an animated GIF or WebP) from POST /v1/captions. */
  async caption(image: Uint8Array, options: CaptionOptions = {}): Promise<CaptionResult> {
    return (await (await this.request('POST', '/v1/captions', this.captionForm(image, options))).json()) as CaptionResult;
  }

  /** The caption of a clip given as its frames in order (PNG, JPEG, ... each), by a video caption model (the first one unless `model` names one). */
  async captionFrames(frames: Uint8Array[], options: CaptionOptions = {}): Promise<CaptionResult> {
    return (await (await this.request('POST', '/v1/captions', this.captionForm(frames, options))).json()) as CaptionResult;
  }

  /** A streamed caption (of an image, or of a clip's frames in order): each token as it is generated, then the whole caption. */
  async *captionStream(
    image: Uint8Array | Uint8Array[],
    options: CaptionOptions = {},
  ): AsyncGenerator<({ type: 'token'; delta: string } & CaptionToken) | { type: 'done'; caption: string; finish_reason: string }> {
    const res = await this.request('POST', '/v1/captions', this.captionForm(image, { ...options, stream: true }));
    for await (const e of sseEvents<{ type: string } & Record<string, unknown>>(res)) {
      if (e.type === 'caption.token') yield { ...(e as unknown as CaptionToken & { delta: string }), type: 'token' };
      if (e.type === 'caption.done') yield { type: 'done', caption: String(e.caption), finish_reason: String(e.finish_reason) };
    }
  }

  /** Text-line images (PNG, JPEG, ..., one line of text each) read by POST /v1/ocr/lines, in one request, in order. */
  async ocrLines(images: Uint8Array[], options: OcrOptions = {}): Promise<OcrLine[]> {
    const form = new FormData();
    for (const image of images) form.append('image', new Blob([image as Uint8Array<ArrayBuffer>]), 'line');
    if (options.model) form.set('model', options.model);
    if (options.decoding) form.set('decoding', options.decoding);
    const body = (await (await this.request('POST', '/v1/ocr/lines', form)).json()) as OcrLine & { lines?: OcrLine[] };
    return body.lines ?? [{ text: body.text, confidence: body.confidence, characters: body.characters }];
  }

  /** Visual question answering (POST /v1/vqa): an image (PNG, JPEG, ...) and a question about it. */
  async vqa(image: Uint8Array, question: string, options: { model?: string; top_k?: number } = {}): Promise<VqaAnswer> {
    const form = new FormData();
    form.set('image', new Blob([image as Uint8Array<ArrayBuffer>]), 'image');
    form.set('question', question);
    if (options.model) form.set('model', options.model);
    if (options.top_k !== undefined) form.set('top_k', String(options.top_k));
    return (await (await this.request('POST', '/v1/vqa', form)).json()) as VqaAnswer;
  }

  /** Spoken QA: a story (WAV), a question (text, or WAV), and 2-4 answer choices. */
  async speechQa(story: Uint8Array, question: { text: string } | { audio: Uint8Array }, choices: string[], options: { model?: string } = {}): Promise<SpeechQaResult> {
    return (await (await this.request('POST', '/v1/speech-qa', this.speechQaForm(story, question, choices, options))).json()) as SpeechQaResult;
  }

  /** Spoken QA as it happens: story sentences as they are recognised, the question, the answer, the result. */
  async *speechQaStream(story: Uint8Array, question: { text: string } | { audio: Uint8Array }, choices: string[], options: { model?: string } = {}): AsyncGenerator<SpeechQaEvent> {
    const form = this.speechQaForm(story, question, choices, options);
    form.set('stream', 'true');
    for await (const e of sseEvents<SpeechQaEvent>(await this.request('POST', '/v1/speech-qa', form))) {
      yield e;
    }
  }

  private speechQaForm(story: Uint8Array, question: { text: string } | { audio: Uint8Array }, choices: string[], options: { model?: string }): FormData {
    const form = new FormData();
    form.set('story', new Blob([story as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'story.wav');
    if ('text' in question) form.set('question', question.text);
    else form.set('question', new Blob([question.audio as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'question.wav');
    for (const c of choices) form.append('choices[]', c);
    if (options.model) form.set('model', options.model);
    return form;
  }

  private captionForm(image: Uint8Array | Uint8Array[], options: CaptionOptions): FormData {
    const form = new FormData();
    if (Array.isArray(image)) image.forEach((f, i) => form.append('frames', new Blob([f as Uint8Array<ArrayBuffer>]), `frame-${i}`));
    else form.set('image', new Blob([image as Uint8Array<ArrayBuffer>]), 'image');
    for (const [k, v] of Object.entries(options)) if (v !== undefined && v !== null) form.set(k, String(v));
    return form;
  }

  private transcriptionForm(wav: Uint8Array, options: { model?: string; format?: string }): FormData {
    const form = new FormData();
    form.set('file', new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'audio.wav');
    if (options.model) form.set('model', options.model);
    if (options.format) form.set('response_format', options.format);
    return form;
  }

  /** Audio word2vec (POST /v1/audio/embeddings): a unit vector per WAV of a spoken word or short phrase. */
  async audioEmbeddings(wavs: Uint8Array[], options: { model?: string } = {}): Promise<AudioEmbedding[]> {
    const form = new FormData();
    for (const wav of wavs) form.append('file', new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'audio.wav');
    if (options.model) form.set('model', options.model);
    return ((await (await this.request('POST', '/v1/audio/embeddings', form)).json()) as { data: AudioEmbedding[] }).data;
  }

  /** Indexes a spoken document (WAV) in a collection for query-by-example search; the collection is created by its first document. */
  async addAudioDocument(collection: string, wav: Uint8Array, options: { id?: string; model?: string } = {}): Promise<{ id: string; seconds: number; segments: number }> {
    const form = new FormData();
    form.set('file', new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'document.wav');
    if (options.id) form.set('id', options.id);
    if (options.model) form.set('model', options.model);
    const path = `/v1/audio/collections/${encodeURIComponent(collection)}/documents`;
    return ((await (await this.request('POST', path, form)).json()) as { document: { id: string; seconds: number; segments: number } }).document;
  }

  /** Spoken term search: the segments of a collection's documents most like a spoken query (WAV), best first. */
  async searchAudio(collection: string, query: Uint8Array, options: { topK?: number } = {}): Promise<SpokenHit[]> {
    const form = new FormData();
    form.set('file', new Blob([query as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'query.wav');
    if (options.topK !== undefined) form.set('top_k', String(options.topK));
    const path = `/v1/audio/collections/${encodeURIComponent(collection)}/search`;
    return ((await (await this.request('POST', path, form)).json()) as { data: SpokenHit[] }).data;
  }

  /** A collection's documents and limits. */
  audioCollection(collection: string): Promise<AudioCollection> {
    return this.json('GET', `/v1/audio/collections/${encodeURIComponent(collection)}`);
  }

  /** Deletes a collection. */
  async deleteAudioCollection(collection: string): Promise<void> {
    await this.request('DELETE', `/v1/audio/collections/${encodeURIComponent(collection)}`);
  }

  async metrics(): Promise<string> {
    return (await this.request('GET', '/metrics')).text();
  }

  async infer(model: string, inputs: ClientTensor[], options: InferOptions = {}): Promise<InferResponse> {
    const path = `/v2/models/${encodeURIComponent(model)}${options.version ? `/versions/${encodeURIComponent(options.version)}` : ''}/infer`;
    const outputs = options.outputs?.map((name) => ({ name, ...(options.binary ? { parameters: { binary_data: true } } : {}) }));
    if (!options.binary) {
      return this.json('POST', path, {
        ...(options.id ? { id: options.id } : {}),
        inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: toPlain(t.data) })),
        ...(outputs ? { outputs } : {}),
      });
    }
    const blobs = inputs.map((t) => encodeRaw(t.datatype, t.data));
    const { body, headerLength: sentHeaderLength } = binaryBody(
      {
        ...(options.id ? { id: options.id } : {}),
        inputs: inputs.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: blobs[i].byteLength } })),
        ...(outputs ? { outputs } : {}),
        parameters: { binary_data_output: true },
      },
      blobs,
    );
    const res = await this.request('POST', path, body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(sentHeaderLength) });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length') ?? bytes.byteLength);
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength))) as InferResponse & {
      outputs: { parameters?: { binary_data_size?: number } }[];
    };
    let pos = headerLength;
    for (const o of parsed.outputs) {
      const size = o.parameters?.binary_data_size;
      if (size === undefined) continue;
      o.data = decodeRaw(o.datatype, bytes.subarray(pos, pos + size));
      pos += size;
      delete o.parameters;
    }
    return parsed;
  }
}
