/**
 * Spoken question answering as one KServe model: `story` (BYTES: a WAV file per item, base64 or a
 * data: URL), `question` (BYTES text) and `choices` (BYTES: the answer choices, one per line) in; `text_output` (the answer) and `json_output` (the
 * whole `/v1/speech-qa` answer: transcript, sentences, hops) out.
 */
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { bytesFromBase64Text } from '../../../http/base64-bytes.ts';
import type { SpeechQaResult } from '../../../core/qa/spoken-qa.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { SeqserveError, invalidArgument } from '../../../core/errors.ts';
import { speechQa } from '../index.ts';
import { resolveSpeechQa } from './speech-qa-request.ts';

/** A refusal about a part of the form, named as the KServe input it came from. */
function asInputField(err: unknown, i: number): unknown {
  if (!(err instanceof SeqserveError) || err.field === undefined) return err;
  const input = /^(story|question|choices)\b/.exec(err.field)?.[1];
  return input ? invalidArgument(`inputs.${input}[${i}]`, err.message.replace(/^[^:]+: /, '')) : err;
}

export const speechQaKServe: TaskKServe = {
  inputs: [
    { name: 'story', file: true, description: 'a WAV file per item (the story, read aloud): its bytes, base64, or a data: URL' },
    { name: 'question', description: 'the question about each story, as text' },
    { name: 'choices', description: 'the answer choices of each question, one per line (2-4)' },
  ],
  outputs: [
    { name: 'text_output', description: 'the answer to each' },
    { name: 'json_output', description: 'per item, the /v1/speech-qa answer as JSON (transcript, sentences, answer, hops)' },
  ],
  async infer(ctx, model, inputs, parameters, signal) {
    parseTaskParameters(parameters, {});
    const requests = inputs.story.map((story, i) => {
      try {
        return resolveSpeechQa(ctx, {
          model: model.name,
          story: bytesFromBase64Text(story, 'story', 'data:audio/wav;base64,'),
          question: { text: inputs.question[i] },
          choices: inputs.choices[i]
            .split('\n')
            .map((c) => c.trim())
            .filter((c) => c),
        }).input;
      } catch (err) {
        throw asInputField(err, i);
      }
    });
    const results = await Promise.all(
      requests.map(async (input) => {
        let out: SpeechQaResult | undefined;
        for await (const e of speechQa.run(input.memory, input, signal)) if (e.type === 'result') out = e.result;
        if (!out) throw new SeqserveError('internal', 'spoken QA gave no result');
        return out;
      }),
    );
    return { text_output: results.map((r) => r.answer), json_output: results.map((r) => JSON.stringify(r)) };
  },
};
