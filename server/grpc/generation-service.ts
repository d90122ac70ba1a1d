/**
 * `seqserve.v1.Generation`: server-streaming chat generation (`Generate`) and image captions
 * (`Caption`) with the same engines, parameters and limits as POST /v1/chat/completions and
 * POST /v1/captions. A cancelled call stops its decoding.
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ChatCompletionRequest, generateRequest, promptTokens } from '../tasks/chat/request.ts';
import { invalidArgument } from '../core/errors.ts';
import { fieldName } from '../core/parse-json.ts';
import type { ServerContext } from '../context.ts';
import { openCall } from '../service/task-call.ts';
import { caption } from '../tasks/caption/index.ts';
import { chat } from '../tasks/chat/index.ts';
import { resolveTaskModel } from '../runtime/task-models.ts';
import { serveStream } from './server-stream.ts';
import { type CaptionOptions, captionRequest, validateCaptionOptions } from '../tasks/caption/request.ts';
import { decodeImage } from '../images/decode-image.ts';
import { decodingParamsFromProto, type ProtoDecodingMessage } from '../tasks/decoding-params.ts';

type GenerateRequestMessage = ProtoDecodingMessage & {
  model: string;
  messages: { role: string; content: string }[];
  n: number;
  stop: string[];
};

function toChatRequest(req: GenerateRequestMessage): ChatCompletionRequest {
  const body = {
    ...decodingParamsFromProto(req),
    ...(req.model ? { model: req.model } : {}),
    messages: req.messages,
    n: req.n || undefined,
    stop: req.stop.length ? req.stop : undefined,
    logprobs: true, // every streamed token carries its log-probability
  };
  const parsed = ChatCompletionRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidArgument(fieldName(issue.path), issue.message);
  }
  return parsed.data;
}

type CaptionRequestMessage = ProtoDecodingMessage & { model: string; image: Buffer };

function toCaptionOptions(req: CaptionRequestMessage): CaptionOptions {
  return validateCaptionOptions({ ...decodingParamsFromProto(req), ...(req.model ? { model: req.model } : {}) });
}

export function generationService(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Generate: (call: ServerWritableStream<GenerateRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const body = toChatRequest(call.request);
        const loaded = resolveTaskModel(ctx.repository, 'chat', body.model);
        const engine = loaded.taskModel;
        const { tokens } = promptTokens(engine.model, body.messages);
        const request = generateRequest(engine.model, body, tokens);
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_generate', kind: 'stream', signal }, (s) => chat.run(engine, request, s));
        let completion = 0;
        try {
          const counts = new Map<number, number>();
          for await (const e of events) {
            if (e.type === 'token') {
              completion++;
              counts.set(e.choice, (counts.get(e.choice) ?? 0) + 1);
              await write({
                choice: e.choice,
                delta: e.delta,
                token: e.piece,
                logprob: e.logProb,
                top_logprobs: (e.top ?? []).map((t) => ({ token: t.piece, logprob: t.logProb })),
                attention: e.attention ?? [],
              });
            } else {
              await write({ choice: e.choice, delta: e.delta, finish_reason: e.reason, prompt_tokens: tokens.length, completion_tokens: counts.get(e.choice) ?? 0 });
            }
          }
        } finally {
          ctx.metrics.generatedTokens.inc({ model: loaded.name }, completion);
          await events.return();
        }
      }),
    Caption: (call: ServerWritableStream<CaptionRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const options = toCaptionOptions(call.request);
        const loaded = resolveTaskModel(ctx.repository, 'caption', options.model);
        const engine = loaded.taskModel;
        const image = await decodeImage(new Uint8Array(call.request.image), engine.model.image!, ctx.config.limits.maxImagePixels);
        const request = captionRequest(engine.model, options, image);
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_caption', kind: 'stream', signal }, (s) => caption.run(engine, request, s));
        let completion = 0;
        try {
          for await (const e of events) {
            if (e.type === 'token') {
              completion++;
              await write({
                delta: e.delta,
                token: e.piece,
                logprob: e.logProb,
                top_logprobs: (e.top ?? []).map((t) => ({ token: t.piece, logprob: t.logProb })),
                attention: e.attention ?? [],
              });
            } else {
              await write({ delta: e.delta, finish_reason: e.reason, caption: e.text, completion_tokens: completion });
            }
          }
        } finally {
          ctx.metrics.generatedTokens.inc({ model: loaded.name }, completion);
          await events.return();
        }
      }),
  };
}
