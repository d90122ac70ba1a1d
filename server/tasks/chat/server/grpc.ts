/**
 * `seqserve.v1.Generation/Generate`: server-streaming chat generation with the same engines,
 * parameters and limits as POST /v1/chat/completions. A cancelled call stops its decoding. (The
 * service's `Caption` method is the caption task's.)
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ChatCompletionRequest, generateRequest, promptTokens } from '../request.ts';
import { invalidArgument } from '../../../core/errors.ts';
import { issueField } from '../../../core/parse-json.ts';
import type { ServerContext } from '../../../context.ts';
import { openCall } from '../../../service/task-call.ts';
import { chat } from '../index.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { serveStream } from '../../../grpc/server-stream.ts';
import { tokenMessage } from '../../../grpc/token-message.ts';
import { decodingParamsFromProto, type ProtoDecodingMessage } from '../../decoding-params.ts';

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
    throw invalidArgument(issueField(issue), issue.message);
  }
  return parsed.data;
}

/** The chat task's method of `seqserve.v1.Generation`. */
export function generateMethod(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Generate: (call: ServerWritableStream<GenerateRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const body = toChatRequest(call.request);
        // a visual-qa model answers about an image, which this text-only service cannot carry: say where it is served
        if (body.model !== undefined && ctx.repository.readyModels().some((m) => m.name === body.model && m.task === 'visual-qa'))
          throw invalidArgument(
            'model',
            `model ${body.model} is a visual-qa model: use POST /v1/vqa or the OpenAI chat route (POST /v1/chat/completions with an image_url part) over HTTP`,
          );
        const loaded = resolveTaskModel(ctx.repository, 'chat', body.model);
        const engine = loaded.taskModel;
        const { tokens } = promptTokens(engine.model, body.messages);
        const request = generateRequest(engine.model, body, tokens);
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_generate', kind: 'stream', signal }, (s) => runTask(loaded, request, s));
        let completion = 0;
        try {
          const counts = new Map<number, number>();
          for await (const e of events) {
            if (e.type === 'token') {
              completion++;
              counts.set(e.choice, (counts.get(e.choice) ?? 0) + 1);
              await write({ choice: e.choice, ...tokenMessage(e) });
            } else {
              await write({ choice: e.choice, delta: e.delta, finish_reason: e.reason, prompt_tokens: tokens.length, completion_tokens: counts.get(e.choice) ?? 0 });
            }
          }
        } finally {
          ctx.metrics.generatedTokens.inc({ model: loaded.name }, completion);
          await events.return();
        }
      }),
  };
}
