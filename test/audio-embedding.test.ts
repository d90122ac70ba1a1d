/**
 * Audio word2vec end to end with the bundled model, on its committed held-out sample (held-out words
 * spoken by held-out voices: espeak-ng voices never heard in training, flite's rms, festival's ked):
 * POST /v1/audio/embeddings (OpenAI shape, unit vectors, same-word recordings rank above the others),
 * spoken term search (index the sample's spoken documents, find each word said by another voice in
 * the document that says it, at its time), the collection routes, the KServe interface, and bad input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { MAX_DOCUMENT_SEGMENTS } from '../server/core/audio-embedding/audio-encoder.ts';
import { overlap } from '../server/core/audio-embedding/spoken-index.ts';
import { wav } from './helpers/contract-http.ts';
import { startTestServer } from './helpers/test-server.ts';

const MODEL_DIR = path.join(BUNDLED_MODELS_DIR, 'audio_word2vec');
const SAMPLE_DIR = path.join(MODEL_DIR, 'heldout-sample');
const lines = <T>(file: string) =>
  readFileSync(path.join(SAMPLE_DIR, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
const words = lines<{ file: string; word: string; voice: string }>('words.jsonl');
const documents = lines<{ file: string; voice: string; words: { word: string; start: number; end: number }[] }>('documents.jsonl');
const metrics = JSON.parse(readFileSync(path.join(MODEL_DIR, 'metrics.json'), 'utf8')) as { heldout_sample: { map_embedding: number } };
const bytes = (file: string) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, file)));

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ modelsDir: MODEL_DIR });
});
afterAll(async () => {
  await server.close();
});

type Json = Record<string, unknown> & { error?: { message: string; param: string | null } };
async function postForm(url: string, parts: Record<string, (Uint8Array | string)[] | Uint8Array | string>, method = 'POST'): Promise<{ status: number; json: Json }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(parts))
    for (const item of Array.isArray(v) ? v : [v]) {
      if (typeof item === 'string') form.append(k, item);
      else form.append(k, new Blob([item as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), 'a.wav');
    }
  const res = await fetch(`${server.http}${url}`, { method, body: form });
  return { status: res.status, json: (await res.json()) as Json };
}

interface EmbeddingList {
  object: string;
  model: string;
  data: { object: string; index: number; embedding: number[]; start: number; end: number }[];
  usage: { audio_seconds: number };
}

async function embedAll(files: string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < files.length; i += 16) {
    const { status, json } = await postForm('/v1/audio/embeddings', { file: files.slice(i, i + 16).map(bytes) });
    expect(status, JSON.stringify(json)).toBe(200);
    out.push(...(json as unknown as EmbeddingList).data.map((d) => d.embedding));
  }
  return out;
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

/** Mean average precision with every item a query against all the others (relevant: the same word). */
function meanAveragePrecision(vectors: number[][], labels: string[]): number {
  const aps = vectors.map((q, i) => {
    const ranked = vectors
      .map((v, j) => ({ j, s: dot(q, v) }))
      .filter((r) => r.j !== i)
      .sort((a, b) => b.s - a.s);
    let hits = 0;
    let sum = 0;
    ranked.forEach((r, k) => {
      if (labels[r.j] === labels[i]) sum += ++hits / (k + 1);
    });
    return hits ? sum / hits : 0;
  });
  return aps.reduce((a, b) => a + b, 0) / aps.length;
}

describe('POST /v1/audio/embeddings', () => {
  it("answers in OpenAI's embeddings shape with unit vectors, one per file", async () => {
    const { status, json } = await postForm('/v1/audio/embeddings', { file: [bytes(words[0].file), bytes(words[1].file)] });
    expect(status).toBe(200);
    const list = json as unknown as EmbeddingList;
    expect(list.object).toBe('list');
    expect(list.model).toBe('audio_word2vec');
    expect(list.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    for (const d of list.data) {
      expect(d.embedding).toHaveLength(128);
      expect(Math.sqrt(dot(d.embedding, d.embedding))).toBeCloseTo(1, 3);
      expect(d.end).toBeGreaterThan(d.start);
    }
    expect(list.usage.audio_seconds).toBeGreaterThan(0);
  });

  it('base64 encoding gives the same float32 vector', async () => {
    const asFloat = (await postForm('/v1/audio/embeddings', { file: bytes(words[2].file) })).json as unknown as EmbeddingList;
    const asB64 = (await postForm('/v1/audio/embeddings', { file: bytes(words[2].file), encoding_format: 'base64' })).json as unknown as { data: { embedding: string }[] };
    const buf = Buffer.from(asB64.data[0].embedding, 'base64');
    const v = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    expect(Array.from(v).map((x) => Math.round(x * 1e4) / 1e4)).toEqual(asFloat.data[0].embedding);
  });

  it('a file embeds the same alone and in a batch of others of other lengths', async () => {
    const alone = await embedAll([words[5].file]);
    const batched = await embedAll([words[3].file, words[5].file, words[7].file]);
    batched[1].forEach((x, i) => expect(x).toBeCloseTo(alone[0][i], 3));
  });

  it('held-out words in held-out voices: recordings of the same word rank above the others (MAP above 0.7, not below the recipe measure)', async () => {
    const vectors = await embedAll(words.map((w) => w.file));
    const map = meanAveragePrecision(
      vectors,
      words.map((w) => w.word),
    );
    // Chance is 0.17 (3 relevant recordings among 35, ranked at random). The recipe measured this sample with
    // PyTorch on the untrimmed files (0.81); the endpoint trims leading and trailing silence first.
    expect(map).toBeGreaterThan(0.7);
    expect(map).toBeGreaterThanOrEqual(metrics.heldout_sample.map_embedding - 0.02);
  });
});

describe('spoken term search', () => {
  it('indexes spoken documents and finds each word said by other voices where the document says it', async () => {
    await fetch(`${server.http}/v1/audio/collections/sample`, { method: 'DELETE' });
    for (const [i, d] of documents.entries()) {
      const { status, json } = await postForm('/v1/audio/collections/sample/documents', { file: bytes(d.file), id: `d${i}` });
      expect(status, JSON.stringify(json)).toBe(201);
      expect((json.document as { segments: number }).segments).toBeGreaterThan(d.words.length - 1);
    }
    const info = (await (await fetch(`${server.http}/v1/audio/collections/sample`)).json()) as { documents: { id: string }[]; model: string };
    expect(info.documents.map((d) => d.id)).toEqual(documents.map((_, i) => `d${i}`));
    expect(info.model).toBe('audio_word2vec');

    let queries = 0;
    let found = 0;
    for (const w of words) {
      const said = documents.flatMap((d, i) => d.words.filter((s) => s.word === w.word).map((s) => ({ id: `d${i}`, ...s })));
      if (said.length === 0) continue;
      queries++;
      const { status, json } = await postForm('/v1/audio/collections/sample/search', { file: bytes(w.file), top_k: '3' });
      expect(status, JSON.stringify(json)).toBe(200);
      const hits = json.data as { document_id: string; start: number; end: number; score: number }[];
      expect(hits.length).toBeLessThanOrEqual(3);
      const top = hits[0];
      if (said.some((s) => s.id === top.document_id && overlap(s, top) > 0.5)) found++;
    }
    expect(queries).toBeGreaterThan(5);
    // The top hit lies mostly within the spoken word (its span holds the synthesizer's silence too) in a document that says it.
    expect(found / queries).toBeGreaterThanOrEqual(0.6);
  });

  it('lists, refuses what it cannot do, and deletes collections', async () => {
    const doc = bytes(documents[0].file);
    expect((await postForm('/v1/audio/collections/other/documents', { file: doc, id: 'a' })).status).toBe(201);
    const dup = await postForm('/v1/audio/collections/other/documents', { file: doc, id: 'a' });
    expect(dup.status).toBe(400);
    expect(dup.json.error?.message).toMatch(/^id: document "a" is already/);
    const list = (await (await fetch(`${server.http}/v1/audio/collections`)).json()) as { data: { name: string }[] };
    expect(list.data.map((c) => c.name)).toContain('other');
    const bad = await postForm('/v1/audio/collections/other/search', { file: bytes(words[0].file), top_k: '0' });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.param).toBe('top_k');
    const del = await fetch(`${server.http}/v1/audio/collections/other`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ name: 'other', deleted: true });
    const gone = await postForm('/v1/audio/collections/other/search', { file: bytes(words[0].file) });
    expect(gone.status).toBe(404);
    expect(gone.json.error?.message).toMatch(/collection "other" does not exist/);
    expect((await fetch(`${server.http}/v1/audio/collections/other`)).status).toBe(404);
    expect((await fetch(`${server.http}/v1/audio/collections/bad%20name`)).status).toBe(400);
  });

  it('refuses a document of more than MAX_DOCUMENT_SEGMENTS candidate segments before embedding any, naming file', async () => {
    // 20 s of silence, then 150 s of sound without a pause: sliding windows of four widths every 0.1 s, ~6,000 segments
    const rate = 16000;
    const samples = new Float32Array(170 * rate);
    for (let i = 20 * rate; i < samples.length; i++) samples[i] = 0.1 * Math.sin((2 * Math.PI * 220 * i) / rate);
    const started = Date.now();
    const { status, json } = await postForm('/v1/audio/collections/long/documents', { file: wav(samples, rate) });
    expect(status, JSON.stringify(json)).toBe(400);
    expect(json.error?.param).toBe('file');
    expect(json.error?.message).toMatch(new RegExp(`^file: the document cuts into \\d+ candidate segments; at most ${MAX_DOCUMENT_SEGMENTS} are embedded per document`));
    expect(Date.now() - started).toBeLessThan(10_000); // embedding ~6,000 segments would take far longer
    expect((await fetch(`${server.http}/v1/audio/collections/long`)).status).toBe(404); // nothing created
  });

  it('gives concurrent documents without an id distinct ids, and creates the collection only with its first document', async () => {
    const [a, b] = await Promise.all([0, 1].map((i) => postForm('/v1/audio/collections/fresh/documents', { file: bytes(documents[i].file) })));
    expect([a.status, b.status]).toEqual([201, 201]);
    const ids = [a, b].map((r) => (r.json.document as { id: string }).id).sort();
    expect(ids).toEqual(['doc-1', 'doc-2']);
    const info = (await (await fetch(`${server.http}/v1/audio/collections/fresh`)).json()) as { documents: { id: string }[] };
    expect(info.documents.map((d) => d.id).sort()).toEqual(ids);
    await fetch(`${server.http}/v1/audio/collections/fresh`, { method: 'DELETE' });
  });
});

describe('bad input', () => {
  it('refuses empty audio, a file that is not a WAV, audio too long for one vector, and no file, naming the field', async () => {
    const empty = await postForm('/v1/audio/embeddings', { file: wav(new Float32Array(0)) });
    expect(empty.status).toBe(400);
    expect(empty.json.error?.message).toMatch(/^file: contains no audio/);
    const notWav = await postForm('/v1/audio/embeddings', { file: new TextEncoder().encode('hello, not a wav') });
    expect(notWav.status).toBe(400);
    expect(notWav.json.error?.message).toMatch(/^file: not a readable WAV/);
    const long = await postForm('/v1/audio/embeddings', { file: wav(new Float32Array(16000 * 9).fill(0.1)) });
    expect(long.status).toBe(400);
    expect(long.json.error?.message).toMatch(/^file: is 9\.00 s long; model audio_word2vec embeds at most 8 s/);
    const second = await postForm('/v1/audio/embeddings', { file: [bytes(words[0].file), wav(new Float32Array(0))] });
    expect(second.json.error?.param).toBe('file[1]');
    const none = await postForm('/v1/audio/embeddings', { model: 'audio_word2vec' });
    expect(none.status).toBe(400);
    expect(none.json.error?.param).toBe('file');
    const emptyDoc = await postForm('/v1/audio/collections/x/documents', { file: wav(new Float32Array(0)) });
    expect(emptyDoc.status).toBe(400);
    expect((await fetch(`${server.http}/v1/audio/collections/x`)).status).toBe(404); // not left behind
  });

  it('embeds a single sample and silence without failing', async () => {
    const one = await postForm('/v1/audio/embeddings', { file: [wav(new Float32Array(1).fill(0.5)), wav(new Float32Array(8000))] });
    expect(one.status).toBe(200);
    expect((one.json as unknown as EmbeddingList).data).toHaveLength(2);
  });
});

describe('KServe interface', () => {
  it('takes WAV bytes and answers FP32 embeddings equal to the REST ones', async () => {
    const files = [words[0].file, words[4].file];
    const res = await fetch(`${server.http}/v2/models/audio_word2vec/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'audio', datatype: 'BYTES', shape: [2], data: files.map((f) => Buffer.from(bytes(f)).toString('base64')) }] }),
    });
    const body = (await res.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs[0]).toMatchObject({ name: 'embedding', datatype: 'FP32', shape: [2, 128] });
    const rest = await embedAll(files);
    body.outputs[0].data.slice(0, 128).forEach((x, i) => expect(x).toBeCloseTo(rest[0][i], 3));
    body.outputs[0].data.slice(128).forEach((x, i) => expect(x).toBeCloseTo(rest[1][i], 3));
    const meta = (await (await fetch(`${server.http}/v2/models/audio_word2vec`)).json()) as { outputs: { datatype: string }[] };
    expect(meta.outputs[0].datatype).toBe('FP32');
  });

  it('refuses an item longer than the model embeds as one vector, naming it', async () => {
    const long = Buffer.from(wav(new Float32Array(16000 * 9).fill(0.1))).toString('base64');
    const res = await fetch(`${server.http}/v2/models/audio_word2vec/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'audio', datatype: 'BYTES', shape: [2], data: [Buffer.from(bytes(words[0].file)).toString('base64'), long] }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/inputs\.audio\[1\]: is 9\.00 s long; model audio_word2vec embeds at most 8 s/);
  });
});
