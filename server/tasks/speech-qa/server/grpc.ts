/**
 * `seqserve.v1.SpeechQa/Ask`: spoken question answering as a server stream, with the same pipeline
 * and limits as POST /v1/speech-qa. A cancelled call stops recognition.
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerContext } from '../../../context.ts';
import { openCall } from '../../../service/task-call.ts';
import { speechQa } from '../index.ts';
import { resolveSpeechQa } from './speech-qa-request.ts';
import { serveStream } from '../../../grpc/server-stream.ts';

interface AskRequestMessage {
  model: string;
  recognizer: string;
  story_wav: Buffer;
  question_text?: string;
  question_wav?: Buffer;
  question?: 'question_text' | 'question_wav';
  choices: string[];
}

export function speechQaService(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Ask: (call: ServerWritableStream<AskRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const req = call.request;
        const question =
          req.question === 'question_wav' ? { audio: new Uint8Array(req.question_wav!) } : req.question === 'question_text' ? { text: req.question_text! } : undefined;
        const { loaded, input } = resolveSpeechQa(ctx, {
          ...(req.model ? { model: req.model } : {}),
          ...(req.recognizer ? { recognizer: req.recognizer } : {}),
          story: new Uint8Array(req.story_wav),
          question,
          choices: req.choices,
        });
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_speech_qa', kind: 'stream', signal }, (s) => speechQa.run(input.memory, input, s));
        try {
          for await (const e of events) {
            if (e.type === 'story.partial') await write({ story_partial: { sentence: e.sentence, text: e.text } });
            else if (e.type === 'story.sentence') await write({ story_sentence: { sentence: e.sentence, text: e.text } });
            else if (e.type === 'question') await write({ question: { text: e.text, spoken: e.spoken } });
            else if (e.type === 'answer.token') await write({ answer_token: { token: e.token, logprob: e.logprob } });
            else await write({ result: { model: loaded.name, ...e.result, hops: e.result.hops.map((attention) => ({ attention })) } });
          }
        } finally {
          await events.return();
        }
      }),
  };
}
