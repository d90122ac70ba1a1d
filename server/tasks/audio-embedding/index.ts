/**
 * Audio embedding (audio word2vec): a spoken word or phrase → one vector (`POST /v1/audio/embeddings`),
 * and a spoken document → its candidate segments, each with its vector, for query-by-example spoken
 * term search (`/v1/audio/collections/{name}/...`; the collections live on the main thread, only the
 * embedding runs here).
 */
import type { DecodedAudio } from '../../core/audio/decode-wav.ts';
import { AudioEncoder, loadAudioEncoder, MAX_EMBED_BATCH, type EmbeddedAudio } from '../../core/audio-embedding/audio-encoder.ts';
import type { SampleSpan } from '../../core/audio-embedding/segmenter.ts';
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';

/** The most recordings one embeddings request takes. */
export const MAX_AUDIOS_PER_REQUEST = 64;

export type AudioEmbeddingRequest =
  /** Each recording (a word or short phrase) as one vector; `fields` name them in errors. */
  | { kind: 'words'; audios: DecodedAudio[]; fields: string[] }
  /**
   * A spoken document's candidate segments, each with its vector: `samples` at the model's rate and
   * `spans` of them, as AudioEncoder.documentSegments cuts them (on the main thread, so that the
   * collection's limits are checked before anything is embedded).
   */
  | { kind: 'document'; samples: Float32Array; spans: SampleSpan[]; field: string };

/** The vectors: one per recording (`words`), or one per candidate segment (`document`). */
export interface AudioEmbeddingEvent {
  embeddings: EmbeddedAudio[];
}

export const audioEmbedding: TaskModule<'audio-embedding', AudioEncoder, AudioEmbeddingRequest, AudioEmbeddingEvent> = {
  name: 'audio-embedding',
  description: 'audio word2vec: a spoken word → a vector (POST /v1/audio/embeddings); query-by-example spoken term search (/v1/audio/collections)',
  roles: ['encoder'],
  checkManifest: (m) => [...requireSection('audio-embedding', m, 'audioEmbedding'), ...requireRoles('audio-embedding', m, ['encoder'])],
  axisBounds: ({ model, spec, manifest: { audioEmbedding: a }, add }) => {
    if (!a || spec.role !== 'encoder') return;
    const maxSamples = Math.max(a.minSamples, Math.round(a.maxSeconds * a.sampleRate));
    add(a.input, 0, MAX_EMBED_BATCH, 'the clips embedded together');
    add(a.input, 1, maxSamples, `audioEmbedding.maxSeconds of model ${model}`);
    add(a.lengths, 0, MAX_EMBED_BATCH, 'the clips embedded together');
  },
  runsInExecutor: true,
  validate: (encoder, request) => {
    if (request.kind === 'words') request.audios.forEach((a, i) => encoder.checkWordLength(a, request.fields[i]));
    else encoder.checkDocumentSegments(request.spans.length, request.field);
  },
  load: ({ manifest, runners }) => Promise.resolve(loadAudioEncoder(manifest, runners)),
  async *run(encoder, request, signal) {
    if (request.kind === 'words') {
      request.audios.forEach((a, i) => encoder.checkWordLength(a, request.fields[i]));
      yield { embeddings: await encoder.embedWords(request.audios, signal) };
    } else yield { embeddings: await encoder.embedSegments(request.samples, request.spans, signal, request.field) };
  },
};
