/**
 * `seqserve.v1.Generation/Complete`: server-streaming text-to-text completions with the same task,
 * parameters and limits as POST /v1/completions (`beam_width` is its `best_of`, `top_logprobs` its
 * `logprobs`). A cancelled call stops its decoding. (The service's other methods are chat's and
 * caption's.)
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerContext } from '../../../context.ts';
import { invalidArgument } from '../../../core/errors.ts';
import { issueField } from '../../../core/parse-json.ts';
import { serveStream } from '../../../grpc/server-stream.ts';
import { tokenMessage } from '../../../grpc/token-message.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { openCall } from '../../../service/task-call.ts';
import { decodingParamsFromProto, type ProtoDecodingMessage } from '../../decoding-params.ts';
import { encodePrompts } from '../index.ts';
import { CompletionRequest, completionTaskRequest } from '../request.ts';

type CompleteRequestMessage = ProtoDecodingMessage & { model: string; prompts: string[]; n: number; stop: string[] };

/** The JSON API's request for a Complete message (errors name the proto's fields). */
export function toCompletionRequest(req: CompleteRequestMessage): CompletionRequest {
  const { top_logprobs, ...params } = decodingParamsFromProto(req);
  if (req.prompts.length === 0) throw invalidArgument('prompts', 'must hold at least one prompt');
  const parsed = CompletionRequest.safeParse({
    ...params,
    ...(req.model ? { model: req.model } : {}),
    prompt: req.prompts,
    n: req.n || undefined,
    stop: req.stop.length ? req.stop : undefined,
    logprobs: top_logprobs ?? 0, // every streamed token carries its log-probability
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issueField(issue)
      .replace(/^prompt\b/, 'prompts')
      .replace(/^logprobs$/, 'top_logprobs');
    throw invalidArgument(field, issue.message);
  }
  return parsed.data;
}

/** The text2text task's method of `seqserve.v1.Generation`. */
export function completeMethod(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Complete: (call: ServerWritableStream<CompleteRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const body = toCompletionRequest(call.request);
        const loaded = resolveTaskModel(ctx.repository, 'text2text', body.model);
        const model = loaded.taskModel;
        const request = { ...completionTaskRequest(body, model.engine.model.spec.maxNewTokens), fields: call.request.prompts.map((_, i) => `prompts[${i}]`) };
        const sources = encodePrompts(model, request);
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_complete', kind: 'stream', signal }, (s) => runTask(loaded, request, s));
        let completion = 0;
        try {
          const counts = new Map<string, number>();
          for await (const e of events) {
            const key = `${e.prompt}:${e.choice}`;
            if (e.type === 'token') {
              completion++;
              counts.set(key, (counts.get(key) ?? 0) + 1);
              await write({ prompt: e.prompt, choice: e.choice, ...tokenMessage(e) });
            } else {
              await write({
                prompt: e.prompt,
                choice: e.choice,
                delta: e.delta,
                finish_reason: e.reason,
                text: e.text,
                source_tokens: request.generate.attention ? sources[e.prompt].pieces : [],
                prompt_tokens: sources[e.prompt].ids.length,
                completion_tokens: counts.get(key) ?? 0,
              });
            }
          }
        } finally {
          ctx.metrics.generatedTokens.inc({ model: loaded.name }, completion);
          await events.return();
        }
      }),
  };
}
