/**
 * seqserve's web client: loads a model from a seqserve server's repository endpoint
 * (`GET /v1/models/{model}/files/{file}`) and runs it in the page with onnxruntime-web (wasm),
 * through the very same core modules the server uses (manifest, tokenizers, CRF decoding,
 * generation engine). Only the ONNX Runtime binding differs.
 *
 *   const model = await loadWebModel('https://seqserve.example', 'chat');
 *   for await (const delta of model.chat([{ role: 'user', content: 'hello' }], { temperature: 0 })) ...
 *   const { slots } = await (await loadWebModel(url, 'slots')).slots('fly to Denver on Monday');
 *   for await (const t of (await loadWebModel(url, 'caption')).caption(pngBlob)) ...
 */
import * as ort from 'onnxruntime-web';
import { type ChatCompletionRequest, generateRequest, promptTokens } from '../../server/chat/chat-request.ts';
import { captionRequest } from '../../server/caption/caption-request.ts';
import { GenerationEngine, type ImageSource } from '../../server/core/generation/generation-engine.ts';
import { imageTensor } from '../../server/core/image/image-tensor.ts';
import { loadSeq2SeqModel } from '../../server/core/generation/seq2seq-model.ts';
import type { GraphRunner, TensorMap } from '../../server/core/graph-runner.ts';
import { parseManifest, type ImageSpec, type Manifest } from '../../server/core/manifest.ts';
import { loadSlotFiller } from '../../server/core/slots/load-slot-filler.ts';
import type { SlotFillingResult } from '../../server/core/slots/slot-filler.ts';

export interface WebModelOptions {
  /** Where onnxruntime-web's .wasm files are served (seqserve serves them at /ort/). */
  wasmPaths?: string;
  /** Keep downloaded files in the Cache API for offline use (default true where available). */
  cache?: boolean;
}

const CACHE_NAME = 'seqserve-models-v1';

/** A model file: revalidated with the server (ETag, 304 when unchanged); from the Cache API when offline. */
async function fetchModelFile(url: string, useCache: boolean): Promise<Uint8Array> {
  const cache = useCache && typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : undefined;
  try {
    const res = await fetch(url, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    if (cache) await cache.put(url, res.clone());
    return new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    const cached = await cache?.match(url);
    if (cached) return new Uint8Array(await cached.arrayBuffer());
    throw err;
  }
}

function runner(session: ort.InferenceSession): GraphRunner {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds: TensorMap) => session.run(feeds as Record<string, ort.Tensor>) as Promise<TensorMap>,
  };
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

export interface CaptionToken {
  token: string;
  delta: string;
  logprob: number;
  /** Attention over the image regions (row-major over the manifest's grid). */
  attention?: number[];
}

export interface WebModel {
  name: string;
  manifest: Manifest;
  slots(text: string): Promise<SlotFillingResult>;
  /** Caption tokens as they are generated (greedy unless options say otherwise). */
  caption(image: Blob | ImageBitmap, options?: { temperature?: number; seed?: number; includeAttention?: boolean }): AsyncGenerator<CaptionToken>;
  chat(messages: ChatCompletionRequest['messages'], options?: Partial<ChatCompletionRequest>): AsyncGenerator<string>;
  release(): Promise<void>;
}

export async function loadWebModel(baseUrl: string, name: string, options: WebModelOptions = {}): Promise<WebModel> {
  ort.env.wasm.wasmPaths = options.wasmPaths ?? `${baseUrl}/ort/`;
  const useCache = options.cache ?? true;
  const read = (file: string) => fetchModelFile(`${baseUrl}/v1/models/${encodeURIComponent(name)}/files/${file.split('/').map(encodeURIComponent).join('/')}`, useCache);
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(await read('manifest.json'))));
  const sessions = new Map<string, ort.InferenceSession>();
  for (const [graphName, graph] of Object.entries(manifest.graphs)) {
    sessions.set(graphName, await ort.InferenceSession.create(await read(graph.file), { executionProviders: ['wasm'] }));
  }
  const runners = Object.fromEntries([...sessions].map(([k, s]) => [k, runner(s)]));
  const slotFiller = manifest.task === 'slot-filling' ? await loadSlotFiller(manifest, read, runners) : undefined;
  const seq2seq = manifest.task === 'chat' || manifest.task === 'caption' ? await loadSeq2SeqModel(manifest, read, runners) : undefined;
  const engine = seq2seq ? new GenerationEngine(seq2seq, { maxRows: 32, maxWaiting: 32 }) : undefined;
  const need = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`model "${name}" is a ${manifest.task} model; it cannot do ${what}`);
    return x;
  };
  return {
    name,
    manifest,
    slots: (text) => need(slotFiller, 'slot filling').fill(text),
    async *caption(image, opts = {}) {
      const e = need(manifest.task === 'caption' ? engine : undefined, 'captioning');
      const pixels = await canvasPixels(image, e.model.image!);
      const request = captionRequest(e.model, { temperature: opts.temperature ?? 0, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), include_attention: opts.includeAttention ?? false }, pixels);
      for await (const ev of e.generate(request)) {
        if (ev.type === 'token') yield { token: ev.piece, delta: ev.delta, logprob: ev.logProb, ...(ev.attention ? { attention: ev.attention } : {}) };
      }
    },
    async *chat(messages, opts = {}) {
      const e = need(manifest.task === 'chat' ? engine : undefined, 'chat');
      const { tokens } = promptTokens(e.model, messages);
      for await (const ev of e.generate(generateRequest(e.model, { messages, ...opts } as ChatCompletionRequest, tokens))) {
        if (ev.type === 'token' && ev.delta) yield ev.delta;
        if (ev.type === 'finish' && ev.delta) yield ev.delta;
      }
    },
    async release() {
      for (const s of sessions.values()) await s.release();
    },
  };
}
