/**
 * Speech recognition as one KServe model: `audio` (BYTES: a WAV file per item, base64 or a data:
 * URL) in, `text_output` (the transcript, its utterances joined by spaces) out. Parameter `decoder`:
 * `greedy` or `beam` (default: the manifest's).
 */
import { z } from 'zod';
import { decodeAudioWithin } from '../../../core/audio/decode-wav.ts';
import { bytesFromBase64Text } from '../../../http/base64-bytes.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';

export const speechRecognitionKServe: TaskKServe = {
  inputs: [{ name: 'audio', file: true, description: 'a WAV file per item: its bytes, base64, or a data: URL' }],
  outputs: [{ name: 'text_output', description: 'the transcript of each' }],
  async infer(ctx, model, inputs, parameters, signal) {
    const { decoder } = parseTaskParameters(parameters, { decoder: z.enum(['greedy', 'beam'], { error: 'must be greedy or beam' }).optional() });
    const loaded = asTaskModel(model, 'speech-recognition');
    const audios = inputs.audio.map((text, i) => {
      const field = `inputs.audio[${i}]`;
      return decodeAudioWithin(bytesFromBase64Text(text, field, 'data:audio/wav;base64,'), field, ctx.config.limits.maxAudioSeconds);
    });
    const texts = await Promise.all(
      audios.map(async (audio) => {
        const finals: string[] = [];
        for await (const e of runTask(loaded, { audio, decoding: { hotwords: [], ...(decoder ? { decoder } : {}) } }, signal))
          if (e.type === 'final' && e.transcript.text) finals.push(e.transcript.text);
        return finals.join(' ');
      }),
    );
    return { text_output: texts };
  },
};
