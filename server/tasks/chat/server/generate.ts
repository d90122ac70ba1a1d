/**
 * Triton's generate extension for chat models (`POST /v2/models/chat/generate[_stream]`):
 * `text_input` is one user message; `parameters` are the chat completion's decoding parameters
 * under their OpenAI names (one choice). The text comes back as deltas (and, through it, chat as one
 * KServe model: `text_input` → `text_output`, server/kserve/task-model.ts).
 */
import { invalidArgument, SeqserveError } from '../../../core/errors.ts';
import { issueField } from '../../../core/parse-json.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { runTask } from '../../../runtime/task-models.ts';
import type { TaskGenerate } from '../../../service/task-endpoints.ts';
import { ChatCompletionRequest } from '../request.ts';
import { chatGeneration } from './chat-source.ts';

/** The parameters a generate request may carry (chat completion fields; `n` is always 1). */
const PARAMETERS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'seed', 'stop', 'repetition_penalty', 'beam_width', 'length_penalty'] as const;

export const chatGenerate: TaskGenerate = async (ctx, model, textInput, parameters) => {
  for (const name of Object.keys(parameters))
    if (!(PARAMETERS as readonly string[]).includes(name))
      throw invalidArgument(`parameters.${name}`, `is not a parameter of chat generation (parameters: ${PARAMETERS.join(', ')})`);
  const parsed = ChatCompletionRequest.safeParse({ model: model.name, messages: [{ role: 'user', content: textInput }], ...parameters });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issueField(issue);
    throw invalidArgument(field.startsWith('messages') ? 'text_input' : `parameters.${field}`, issue.message);
  }
  const { loaded, request } = await chatGeneration(ctx, parsed.data).catch(renamed);
  return async function* (signal) {
    try {
      for await (const e of runTask(loaded as TaskLoadedModel<'chat'>, request, signal)) if (e.delta) yield e.delta;
    } catch (err) {
      renamed(err);
    }
  };
};

/** A refusal of the chat request it became, renamed to the generate request's fields: the message is `text_input`, the rest `parameters.<name>`. */
function renamed(err: unknown): never {
  if (!(err instanceof SeqserveError) || err.code !== 'invalid_argument' || !err.field) throw err;
  const field = err.field.startsWith('messages') ? 'text_input' : (PARAMETERS as readonly string[]).includes(err.field) ? `parameters.${err.field}` : undefined;
  if (!field) throw err;
  throw invalidArgument(field, err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message);
}
