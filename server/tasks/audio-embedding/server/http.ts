/**
 * Audio word2vec over HTTP:
 *
 * - `POST /v1/audio/embeddings`: multipart `file` (a WAV of a spoken word or short phrase; repeat the
 *   part for several), optional `model`, `encoding_format` (float | base64) → OpenAI's embeddings
 *   shape `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`; each item
 *   also says which stretch of its file was embedded (`start`, `end`: leading and trailing silence
 *   is trimmed).
 * - Query-by-example spoken term search, no text anywhere: `POST /v1/audio/collections/{name}/documents`
 *   (a spoken document, optional `id`) cuts the document into candidate segments and indexes their
 *   vectors; `POST /v1/audio/collections/{name}/search` (a spoken query, optional `top_k`) ranks the
 *   segments → `[{document_id, start, end, score}]`; `GET` / `DELETE /v1/audio/collections/{name}`,
 *   `GET /v1/audio/collections`. Collections live in this process's memory within CollectionStore's
 *   limits (core/audio-embedding/spoken-index.ts), bound to the model that embedded them.
 */
import { Hono, type Context } from 'hono';
import type { ServerContext } from '../../../context.ts';
import { decodeAudioWithin, decodeWav, type DecodedAudio } from '../../../core/audio/decode-wav.ts';
import type { AudioEncoder, EmbeddedAudio } from '../../../core/audio-embedding/audio-encoder.ts';
import { CollectionStore, DEFAULT_STORE_LIMITS, MAX_TOP_K } from '../../../core/audio-embedding/spoken-index.ts';
import { invalidArgument } from '../../../core/errors.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import { MAX_AUDIOS_PER_REQUEST, type AudioEmbeddingRequest } from '../index.ts';

/** One store of collections per server. */
const STORES = new WeakMap<ServerContext, CollectionStore>();
export function collectionStore(ctx: ServerContext): CollectionStore {
  let store = STORES.get(ctx);
  if (!store) STORES.set(ctx, (store = new CollectionStore(DEFAULT_STORE_LIMITS)));
  return store;
}

export const DEFAULT_TOP_K = 10;
const DOCUMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

const text = (form: FormData, name: string): string | undefined => {
  const v = form.get(name);
  if (v === null) return undefined;
  if (typeof v !== 'string') throw invalidArgument(name, 'must be a text field');
  return v;
};

async function wavPart(part: FormDataEntryValue | null, field: string, maxSeconds: number): Promise<DecodedAudio> {
  if (!(part instanceof Blob)) throw invalidArgument(field, 'is required (a WAV file part)');
  return decodeAudioWithin(new Uint8Array(await part.arrayBuffer()), field, maxSeconds);
}

/**
 * A WAV file of a spoken word (errors name `field`), held to the shorter of the server's
 * `maxAudioSeconds` and the model's maxSeconds (then refused as the model's: too long for one vector).
 */
export function decodeWord(bytes: Uint8Array, field: string, encoder: AudioEncoder, maxAudioSeconds: number): DecodedAudio {
  const max = encoder.spec.maxSeconds;
  return decodeWav(bytes, field, maxAudioSeconds < max ? { maxSeconds: maxAudioSeconds } : { maxSeconds: max, tooLong: (seconds) => encoder.wordTooLong(seconds, field) });
}

async function wordPart(part: FormDataEntryValue | null, field: string, encoder: AudioEncoder, maxAudioSeconds: number): Promise<DecodedAudio> {
  if (!(part instanceof Blob)) throw invalidArgument(field, 'is required (a WAV file part)');
  return decodeWord(new Uint8Array(await part.arrayBuffer()), field, encoder, maxAudioSeconds);
}

function embed(ctx: ServerContext, c: Context, model: TaskLoadedModel<'audio-embedding'>, endpoint: string, request: AudioEmbeddingRequest): Promise<EmbeddedAudio[]> {
  const call = openCall(ctx, { model: model.name, endpoint, kind: 'request', signal: requestSignal(c) }, (signal) => runTask(model, request, signal));
  return collectCall(call, onlyEvent).then((e) => e.embeddings);
}

/** The vector's little-endian float32 bytes in base64 (OpenAI's `encoding_format: "base64"`). */
function base64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

export function audioEmbeddingRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  const limits = ctx.config.limits;
  const store = collectionStore(ctx);

  app.post('/v1/audio/embeddings', async (c) => {
    const form = await readForm(c, limits.maxBodyBytes, 'a "file" part');
    const parts = form.getAll('file');
    if (parts.length === 0) throw invalidArgument('file', 'is required (a WAV file part)');
    if (parts.length > MAX_AUDIOS_PER_REQUEST) throw invalidArgument('file', `${parts.length} files is over the limit of ${MAX_AUDIOS_PER_REQUEST} per request`);
    const format = text(form, 'encoding_format') ?? 'float';
    if (format !== 'float' && format !== 'base64') throw invalidArgument('encoding_format', 'must be float or base64');
    const model = resolveTaskModel(ctx.repository, 'audio-embedding', text(form, 'model') || undefined);
    const fields = parts.map((_, i) => (parts.length === 1 ? 'file' : `file[${i}]`));
    const audios = await Promise.all(parts.map((p, i) => wordPart(p, fields[i], model.taskModel, limits.maxAudioSeconds)));
    const embedded = await embed(ctx, c, model, 'audio_embeddings', { kind: 'words', audios, fields });
    const seconds = audios.reduce((s, a) => s + a.samples.length / a.sampleRate, 0);
    return c.json({
      object: 'list',
      data: embedded.map((e, index) => ({
        object: 'embedding',
        index,
        embedding: format === 'base64' ? base64(e.embedding) : Array.from(e.embedding, round),
        start: e.start,
        end: e.end,
      })),
      model: model.name,
      usage: { prompt_tokens: 0, total_tokens: 0, audio_seconds: Math.round(seconds * 1000) / 1000 },
    });
  });

  app.get('/v1/audio/collections', (c) =>
    c.json({
      object: 'list',
      data: store.names().map((name) => {
        const { documents, ...rest } = store.info(name);
        return { ...rest, documents: documents.length };
      }),
      limits: store.limits,
    }),
  );

  app.get('/v1/audio/collections/:name', (c) => c.json(store.info(c.req.param('name'))));

  app.delete('/v1/audio/collections/:name', (c) => {
    const name = c.req.param('name');
    store.get(name);
    store.delete(name);
    return c.json({ name, deleted: true });
  });

  app.post('/v1/audio/collections/:name/documents', async (c) => {
    const name = c.req.param('name');
    CollectionStore.checkName(name);
    const form = await readForm(c, limits.maxBodyBytes, 'a "file" part');
    const requested = text(form, 'model') || undefined;
    const existing = store.names().includes(name) ? store.get(name) : undefined;
    const model = resolveTaskModel(ctx.repository, 'audio-embedding', requested ?? existing?.model);
    const id = text(form, 'id');
    if (id !== undefined && !DOCUMENT_ID.test(id)) throw invalidArgument('id', 'a document id is 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit');
    const audio = await wavPart(form.get('file'), 'file', limits.maxAudioSeconds);
    const seconds = audio.samples.length / audio.sampleRate;
    // cut first (refused past MAX_DOCUMENT_SEGMENTS) and check every limit, changing nothing, before the embedding...
    const { samples, spans } = model.taskModel.documentSegments(audio, 'file');
    store.checkRoom(name, model.name, id, seconds, spans.length);
    const segments = await embed(ctx, c, model, 'audio_collection_documents', { kind: 'document', samples, spans, field: 'file' });
    // ...then create the collection if it is new and add the document together, with no await between (add checks again)
    const info = store.open(name, model.name, model.taskModel.dimensions).add(id, seconds, segments);
    return c.json({ collection: name, model: model.name, document: info }, 201);
  });

  app.post('/v1/audio/collections/:name/search', async (c) => {
    const name = c.req.param('name');
    const collection = store.get(name);
    const form = await readForm(c, limits.maxBodyBytes, 'a "file" part');
    const topKText = text(form, 'top_k');
    const topK = topKText === undefined ? DEFAULT_TOP_K : Number(topKText);
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw invalidArgument('top_k', `must be an integer from 1 to ${MAX_TOP_K}`);
    const requested = text(form, 'model') || undefined;
    if (requested !== undefined && requested !== collection.model)
      throw invalidArgument('model', `collection "${name}" holds embeddings of model ${collection.model}, not ${requested}`);
    const model = resolveTaskModel(ctx.repository, 'audio-embedding', collection.model);
    const audio = await wordPart(form.get('file'), 'file', model.taskModel, limits.maxAudioSeconds);
    const [query] = await embed(ctx, c, model, 'audio_collection_search', { kind: 'words', audios: [audio], fields: ['file'] });
    const hits = collection.index.search(query.embedding, topK);
    return c.json({
      object: 'list',
      collection: name,
      model: model.name,
      query: { start: query.start, end: query.end },
      data: hits.map((h) => ({ ...h, score: round(h.score) })),
    });
  });
  return app;
}
