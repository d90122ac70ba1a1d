/**
 * Triton's generate extension for text2text models (`POST /v2/models/g2p/generate[_stream]`):
 * `text_input` is one prompt; `parameters` are the completion's decoding parameters under their
 * OpenAI names (one choice; `best_of` is beam search). The text comes back as deltas (and, through
 * it, the model as one KServe model: `text_input` → `text_output`, server/kserve/task-model.ts).
 */
import { invalidArgument, SeqserveError } from '../../../core/errors.ts';
import { issueField } from '../../../core/parse-json.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskGenerate } from '../../../service/task-endpoints.ts';
import { encodePrompts } from '../index.ts';
import { CompletionRequest, completionTaskRequest } from '../request.ts';

/** The parameters a generate request may carry (completion fields; one choice). */
const PARAMETERS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'seed', 'stop', 'repetition_penalty', 'best_of', 'beam_width', 'length_penalty'] as const;

/** The task request, its refusals naming `parameters.<name>` (the completion checks name the JSON field). */
function taskRequest(body: CompletionRequest, maxNewTokens: number): ReturnType<typeof completionTaskRequest> {
  try {
    return completionTaskRequest(body, maxNewTokens);
  } catch (err) {
    if (err instanceof SeqserveError && err.code === 'invalid_argument' && err.field) throw invalidArgument(`parameters.${err.field}`, err.message.slice(err.field.length + 2));
    throw err;
  }
}

export const text2textGenerate: TaskGenerate = async (_ctx, model, textInput, parameters) => {
  for (const name of Object.keys(parameters))
    if (!(PARAMETERS as readonly string[]).includes(name))
      throw invalidArgument(`parameters.${name}`, `is not a parameter of text2text generation (parameters: ${PARAMETERS.join(', ')})`);
  const parsed = CompletionRequest.safeParse({ ...parameters, model: model.name, prompt: textInput });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issueField(issue);
    throw invalidArgument(field.startsWith('prompt') ? 'text_input' : `parameters.${field}`, issue.message);
  }
  const loaded = asTaskModel(model, 'text2text');
  const request = { ...taskRequest(parsed.data, loaded.taskModel.engine.model.spec.maxNewTokens), fields: ['text_input'] };
  encodePrompts(loaded.taskModel, request); // refused now, before any response starts
  return async function* (signal) {
    for await (const e of runTask(loaded, request, signal)) if (e.delta) yield e.delta;
  };
};
