/**
 * The audio-embedding task's endpoints: `POST /v1/audio/embeddings` (OpenAI's embeddings shape) and
 * query-by-example spoken term search over in-memory collections (`/v1/audio/collections/...`).
 */
import { arrayOf, form, int, json, num, obj, ok, ref, str, WORK_ERRORS, type Operation, type Schema } from '../../../http/openapi/operation.ts';
import { MAX_DOCUMENT_SEGMENTS } from '../../../core/audio-embedding/audio-encoder.ts';
import { DEFAULT_STORE_LIMITS, MAX_TOP_K } from '../../../core/audio-embedding/spoken-index.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { MAX_AUDIOS_PER_REQUEST } from '../index.ts';
import { audioEmbeddingKServe } from './kserve.ts';
import { audioEmbeddingRoutes, DEFAULT_TOP_K } from './http.ts';

const WAV = { contentType: 'audio/wav, audio/x-wav, application/octet-stream' };
const name: Schema = { name: 'name', in: 'path', required: true, description: 'the collection: 1-64 letters, digits, "_", "." or "-"', schema: { type: 'string' } };
const LIMITS = `A server holds at most ${DEFAULT_STORE_LIMITS.maxCollections} collections; a collection at most ${DEFAULT_STORE_LIMITS.maxDocuments} documents, ${DEFAULT_STORE_LIMITS.maxSegments} segments and ${DEFAULT_STORE_LIMITS.maxSeconds} s of audio (429 past them), checked before the document is embedded; a document is cut into at most ${MAX_DOCUMENT_SEGMENTS} candidate segments (400 naming \`file\` past it: some two minutes of speech without a pause). Collections live in the memory of one server process and are lost when it stops.`;
const limits = obj({ maxDocuments: int, maxSegments: int, maxSeconds: num });
const documentInfo = obj({ id: str, seconds: num, segments: { ...int, description: 'candidate segments indexed' } });
const collection = obj({ name: str, model: str, dimensions: int, documents: arrayOf(documentInfo), segments: int, seconds: num, limits });

const operations: Operation[] = [
  {
    method: 'post',
    path: '/v1/audio/embeddings',
    operationId: 'createAudioEmbedding',
    tag: 'OpenAI-compatible',
    summary: 'Embed spoken words (audio word2vec)',
    description: `Each \`file\` part (a WAV of a spoken word or short phrase; at most ${MAX_AUDIOS_PER_REQUEST}) becomes one unit vector, in OpenAI's embeddings shape. Leading and trailing silence is trimmed first; \`start\`/\`end\` (seqserve extension) say which seconds of the file were embedded.`,
    body: { required: true, content: form('AudioEmbeddingForm', { file: WAV }) },
    responses: { 200: ok('One embedding per file, in order', json(ref('AudioEmbeddingList'))) },
    errors: WORK_ERRORS,
    badInput: ['file', 'contains no audio'],
  },
  {
    method: 'get',
    path: '/v1/audio/collections',
    operationId: 'listAudioCollections',
    tag: 'Tasks',
    summary: 'The spoken-document collections of this server',
    responses: {
      200: ok(
        'Collections',
        json(
          obj({
            object: { const: 'list' },
            data: arrayOf(obj({ name: str, model: str, dimensions: int, documents: int, segments: int, seconds: num, limits })),
            limits: obj({ maxCollections: int, maxDocuments: int, maxSegments: int, maxSeconds: num }),
          }),
        ),
      ),
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/audio/collections/{name}',
    operationId: 'getAudioCollection',
    tag: 'Tasks',
    summary: 'A collection: its documents, segments and limits',
    parameters: [name],
    responses: { 200: ok('The collection', json(ref('AudioCollection'))) },
    errors: [400, 404],
  },
  {
    method: 'delete',
    path: '/v1/audio/collections/{name}',
    operationId: 'deleteAudioCollection',
    tag: 'Tasks',
    summary: 'Delete a collection',
    parameters: [name],
    responses: { 200: ok('Deleted', json(obj({ name: str, deleted: { const: true } }))) },
    errors: [400, 404],
  },
  {
    method: 'post',
    path: '/v1/audio/collections/{name}/documents',
    operationId: 'addAudioDocument',
    tag: 'Tasks',
    summary: 'Index a spoken document for query-by-example search',
    description: `The document is cut into candidate segments without any text: the stretches of speech between pauses (frame energy), neighbouring pairs of them, and sliding windows of 0.4-1.0 s over stretches too long for one word; each is embedded and kept with its start and end. The collection is created by its first document, bound to that document's model. ${LIMITS}`,
    parameters: [name],
    body: { required: true, content: form('AudioDocumentForm', { file: WAV }) },
    responses: { 201: ok('Indexed', json(obj({ collection: str, model: str, document: documentInfo }))) },
    errors: WORK_ERRORS,
    badInput: ['id', 'document "a" is already in the collection'],
  },
  {
    method: 'post',
    path: '/v1/audio/collections/{name}/search',
    operationId: 'searchAudioCollection',
    tag: 'Tasks',
    summary: 'Search a collection with a spoken query',
    description:
      "The query (a WAV of a spoken word or phrase, silence trimmed) is embedded by the collection's model and every indexed segment is scored by cosine similarity; the best are returned, the best of overlapping segments of a document only.",
    parameters: [name],
    body: { required: true, content: form('AudioSearchForm', { file: WAV }) },
    responses: { 200: ok('Segments, best first', json(ref('AudioSearchResult'))) },
    errors: WORK_ERRORS,
    badInput: ['top_k', `must be an integer from 1 to ${MAX_TOP_K}`],
  },
];

export const endpoints: TaskEndpoints = {
  kserve: audioEmbeddingKServe,
  http: audioEmbeddingRoutes,
  openAiErrorPaths: ['/v1/audio'],
  openapi: () => ({
    operations,
    schemas: {
      AudioEmbeddingForm: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', contentMediaType: 'audio/wav', description: 'WAV: PCM 8-32 bit or float, 8-48 kHz, mono or stereo; a repeated part embeds several' },
          model: { type: 'string', description: 'an audio-embedding model (default: the first ready one)' },
          encoding_format: { type: 'string', enum: ['float', 'base64'], default: 'float', description: 'base64: the little-endian float32 bytes' },
        },
      },
      AudioEmbeddingList: obj({
        object: { const: 'list' },
        data: arrayOf(
          obj({
            object: { const: 'embedding' },
            index: int,
            embedding: { anyOf: [arrayOf(num), str], description: 'a unit vector (float), or its float32 bytes in base64' },
            start: { ...num, description: 'seconds: where the embedded speech starts in the file' },
            end: num,
          }),
        ),
        model: str,
        usage: obj({ prompt_tokens: int, total_tokens: int, audio_seconds: num }),
      }),
      AudioDocumentForm: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', contentMediaType: 'audio/wav', description: 'a spoken document: WAV, at most --max-audio-seconds' },
          id: { type: 'string', description: 'the document id (default doc-N); 1-128 letters, digits, "_", ".", ":" or "-"' },
          model: { type: 'string', description: "an audio-embedding model (default: the collection's, or the first ready one)" },
        },
      },
      AudioSearchForm: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', contentMediaType: 'audio/wav', description: 'the spoken query' },
          top_k: { type: 'string', description: `segments to return, 1-${MAX_TOP_K} (default ${DEFAULT_TOP_K})` },
          model: { type: 'string', description: "must be the collection's model if given" },
        },
      },
      AudioCollection: collection,
      AudioSearchResult: obj({
        object: { const: 'list' },
        collection: str,
        model: str,
        query: obj({ start: num, end: num }, ['start', 'end'], { description: 'the seconds of the query file that were embedded' }),
        data: arrayOf(obj({ document_id: str, start: { ...num, description: 'seconds' }, end: num, score: { ...num, description: 'cosine similarity' } })),
      }),
    },
  }),
};
