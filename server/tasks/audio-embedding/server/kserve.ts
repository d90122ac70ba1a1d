/**
 * Audio word2vec as one KServe model: `audio` (BYTES: a WAV file per item — its bytes, base64 or a
 * data: URL) in, `embedding` (FP32 [items, dimensions], each row a unit vector) out, as
 * `POST /v1/audio/embeddings` answers. No parameters.
 */
import { bytesFromBase64Text } from '../../../http/base64-bytes.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { onlyEvent } from '../../../service/task-call.ts';
import { decodeWord } from './http.ts';

export const audioEmbeddingKServe: TaskKServe = {
  inputs: [{ name: 'audio', file: true, description: 'a WAV file of a spoken word or short phrase per item: its bytes, base64, or a data: URL' }],
  outputs: [{ name: 'embedding', datatype: 'FP32', description: 'the unit vector of each item, [items, dimensions]' }],
  async infer(ctx, model, inputs, parameters, signal) {
    parseTaskParameters(parameters, {});
    const loaded = asTaskModel(model, 'audio-embedding');
    const fields = inputs.audio.map((_, i) => `inputs.audio[${i}]`);
    const audios = inputs.audio.map((text, i) =>
      decodeWord(bytesFromBase64Text(text, fields[i], 'data:audio/wav;base64,'), fields[i], loaded.taskModel, ctx.config.limits.maxAudioSeconds),
    );
    const { embeddings } = await onlyEvent(runTask(loaded, { kind: 'words', audios, fields }, signal));
    return { embedding: embeddings.map((e) => e.embedding) };
  },
};
