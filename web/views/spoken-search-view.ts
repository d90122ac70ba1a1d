/**
 * Spoken term search (audio word2vec): a spoken query — a held-out sample word, an uploaded WAV or
 * the visitor's recording — searched in a few bundled spoken documents (held-out voices, from
 * models/audio_word2vec/heldout-sample/) with no text anywhere in the path: the documents are cut
 * into candidate segments, every segment and the query become vectors, and the segments are ranked
 * by cosine similarity. In the page (onnxruntime-web; the same segmenter and index as the server) or
 * on the server (a collection of its own, then POST .../search). What the documents say is shown
 * only to judge the hits.
 */
import { captureMicrophone, decodeAudioFile, type DecodedAudio, type MicrophoneCapture } from '../../clients/web/seqserve-web.ts';
import { overlap, SpokenIndex, type SearchHit } from '../../server/core/audio-embedding/spoken-index.ts';
import { $, action, authHeaders, base, clear, el, failure, inPage, mode, status } from '../lib/page.ts';
import { errorText } from '../lib/server-api.ts';
import { uploadable, wavBlob } from '../lib/wav-upload.ts';

const MODEL = 'audio_word2vec';
const SAMPLE = `${base}/v1/models/${MODEL}/files/heldout-sample/`;

interface SampleWord {
  file: string;
  word: string;
  voice: string;
}
interface SampleDocument {
  file: string;
  voice: string;
  words: { word: string; start: number; end: number }[];
}

async function sampleFile(name: string): Promise<Blob> {
  const res = await fetch(`${SAMPLE}${name}`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample's ${name}: HTTP ${res.status}`);
  return res.blob();
}

async function sampleLines<T>(name: string): Promise<T[]> {
  const text = await (await sampleFile(name)).text();
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

let documents: { id: string; meta: SampleDocument; wav: Blob; audio: DecodedAudio }[] | undefined;
async function loadDocuments(): Promise<NonNullable<typeof documents>> {
  if (documents) return documents;
  const meta = await sampleLines<SampleDocument>('documents.jsonl');
  documents = await Promise.all(
    meta.map(async (m) => {
      const wav = await sampleFile(m.file);
      return { id: m.file.replace(/\.wav$/, ''), meta: m, wav, audio: await decodeAudioFile(wav) };
    }),
  );
  const list = clear($('search-docs'));
  for (const d of documents) {
    const player = el('audio', { controls: true, src: URL.createObjectURL(d.wav) });
    list.append(el('li', {}, el('span', {}, `${d.id} (${d.meta.voice}, ${(d.audio.samples.length / d.audio.sampleRate).toFixed(1)} s) `), player));
  }
  return documents;
}

/** The page's index of the documents (segments embedded once). */
let pageIndex: Promise<SpokenIndex> | undefined;
function inPageIndex(): Promise<SpokenIndex> {
  pageIndex ??= (async () => {
    const model = await inPage(MODEL);
    const docs = await loadDocuments();
    const dims = model.manifest.audioEmbedding?.dimensions ?? 128;
    const index = new SpokenIndex(dims, { maxDocuments: 100, maxSegments: 100_000, maxSeconds: 3600 });
    for (const d of docs) index.add(d.id, d.audio.samples.length / d.audio.sampleRate, await model.audioDocument(d.audio));
    return index;
  })().catch((err: unknown) => {
    pageIndex = undefined;
    throw err;
  });
  return pageIndex;
}

/** The server's collection of the documents (one per page visit). */
const collection = `demo-${Math.random().toString(36).slice(2, 10)}`;
let serverIndexed: Promise<void> | undefined;
function onServer(): Promise<void> {
  serverIndexed ??= (async () => {
    for (const d of await loadDocuments()) {
      const form = new FormData();
      form.set('file', d.wav, `${d.id}.wav`);
      form.set('id', d.id);
      form.set('model', MODEL);
      const res = await fetch(`${base}/v1/audio/collections/${collection}/documents`, { method: 'POST', headers: authHeaders(), body: form });
      if (!res.ok) throw new Error(await errorText(res));
    }
  })().catch((err: unknown) => {
    serverIndexed = undefined;
    throw err;
  });
  return serverIndexed;
}

async function search(query: Blob): Promise<void> {
  const docs = await loadDocuments();
  const audio = await decodeAudioFile(query);
  let hits: SearchHit[];
  if (mode() === 'page') {
    const model = await inPage(MODEL);
    const index = await inPageIndex();
    const [q] = await model.audioEmbeddings([audio]);
    hits = index.search(q.embedding, 5);
  } else {
    await onServer();
    const form = new FormData();
    form.set('file', await uploadable(query, audio), 'query.wav');
    form.set('top_k', '5');
    const res = await fetch(`${base}/v1/audio/collections/${collection}/search`, { method: 'POST', headers: authHeaders(), body: form });
    if (!res.ok) throw new Error(await errorText(res));
    hits = ((await res.json()) as { data: SearchHit[] }).data;
  }
  const out = clear($('search-hits'));
  for (const h of hits) {
    const doc = docs.find((d) => d.id === h.document_id);
    // only to judge the hit: what the document says there (the search never saw any text)
    const said = doc?.meta.words.filter((w) => overlap(w, h) > 0.5).map((w) => w.word) ?? [];
    const play = el('button', { type: 'button' }, '▶');
    play.addEventListener('click', () => {
      if (!doc) return;
      const rate = doc.audio.sampleRate;
      const clip = doc.audio.samples.slice(Math.floor(h.start * rate), Math.ceil(h.end * rate));
      const player = new Audio(URL.createObjectURL(wavBlob({ samples: clip, sampleRate: rate })));
      void player.play();
    });
    out.append(
      el(
        'li',
        {},
        play,
        ` ${h.document_id} ${h.start.toFixed(2)}–${h.end.toFixed(2)} s, score ${h.score.toFixed(3)}`,
        el('span', { className: 'note' }, said.length ? ` (the document says “${said.join(' ')}” there)` : ' (no whole word there)'),
      ),
    );
  }
}

let recording: { capture: MicrophoneCapture; blocks: Float32Array[] } | undefined;
let query: Blob | undefined;
function setQuery(blob: Blob, what: string): void {
  query = blob;
  const player = $<HTMLAudioElement>('search-query-player');
  player.src = URL.createObjectURL(blob);
  player.hidden = false;
  $('search-query-what').textContent = what;
}

export function spokenSearchView(): void {
  let words: SampleWord[] = [];
  $('search-sample').addEventListener('click', () => {
    action(
      'view-search',
      'loading a sample word',
      async () => {
        if (words.length === 0) words = await sampleLines<SampleWord>('words.jsonl');
        await loadDocuments();
        const w = words[Math.floor(Math.random() * words.length)];
        setQuery(await sampleFile(w.file), `the sample query: “${w.word}” said by ${w.voice} (a voice the model never heard in training)`);
      },
      { local: true },
    );
  });
  $<HTMLInputElement>('search-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('search-file').files?.[0];
    if (file) setQuery(file, `your file ${file.name}`);
  });
  $('search-record').addEventListener('click', () => {
    const button = $<HTMLButtonElement>('search-record');
    if (recording) {
      const { capture, blocks } = recording;
      recording = undefined;
      button.textContent = 'Record a query';
      void capture.stop().then(() => {
        const n = blocks.reduce((s, b) => s + b.length, 0);
        const samples = new Float32Array(n);
        let at = 0;
        for (const b of blocks) samples.set(b, (at += b.length) - b.length);
        setQuery(wavBlob({ samples, sampleRate: capture.sampleRate }), 'your recording');
        status('');
      });
      return;
    }
    const blocks: Float32Array[] = [];
    captureMicrophone((s) => blocks.push(s.slice())).then(
      (capture) => {
        recording = { capture, blocks };
        button.textContent = 'Stop recording';
        status('recording: say one word, then press Stop recording');
      },
      (err: unknown) => failure('recording', err),
    );
  });
  $('search-go').addEventListener('click', () => {
    const q = query;
    if (!q) {
      status('choose a query first: a sample word, a file or a recording');
      return;
    }
    action('view-search', 'searching the spoken documents', () => search(q));
  });
}
