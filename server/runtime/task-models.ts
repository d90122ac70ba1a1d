import { invalidArgument, notFound, SeqserveError } from '../core/errors.ts';
import { taskModule, type TaskEventOf, type TaskName, type TaskRequestOf } from '../tasks/registry.ts';
import type { TaskModule, TaskStream } from '../tasks/task-module.ts';
import type { LoadedModel, ModelRepository, TaskLoadedModel } from './model-repository.ts';

/** `model` as a model of `task`, or a 400 naming `field` when it is another task's. */
export function asTaskModel<T extends TaskName>(model: LoadedModel, task: T, field = 'model'): TaskLoadedModel<T> {
  if (model.task !== task) throw invalidArgument(field, `"${model.name}" is a ${model.task} model, not ${task}`);
  return model as TaskLoadedModel<T>;
}

/** The repository's model `name`; its refusal (unknown, loading, failed) names the request's `field`. */
function modelNamedBy(repository: ModelRepository, name: string, field: string): LoadedModel {
  try {
    return repository.model(name);
  } catch (err) {
    if (err instanceof SeqserveError && err.field === 'model' && field !== 'model')
      throw new SeqserveError(err.code, err.message, { field, ...(err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: err.retryAfterSeconds }) });
    throw err;
  }
}

/**
 * The model a task endpoint should use: the one named in the request, or else the ready model of
 * that task whose name sorts first.
 */
export function resolveTaskModel<T extends TaskName>(repository: ModelRepository, task: T, requested: string | undefined, field = 'model'): TaskLoadedModel<T> {
  if (requested !== undefined) return asTaskModel(modelNamedBy(repository, requested, field), task, field);
  const candidates = repository.readyModels().filter((m): m is TaskLoadedModel<T> => m.task === task);
  if (candidates.length === 0) throw notFound(`no ready ${task} model is loaded`, field);
  return candidates.sort((a, b) => a.name.localeCompare(b.name))[0];
}

/**
 * Runs one request of a model's task: in the model's executor threads when the task runs there
 * (validated here first, so a refusal comes before any response starts), else on this thread.
 */
export function runTask<T extends TaskName>(loaded: TaskLoadedModel<T>, request: TaskRequestOf<T>, signal: AbortSignal): AsyncIterable<TaskEventOf<T>> {
  const task = taskModule(loaded.task) as unknown as TaskModule<T, unknown, TaskRequestOf<T>, TaskEventOf<T>>;
  if (loaded.executor?.runsTask) {
    task.validate?.(loaded.taskModel, request);
    return loaded.executor.call<TaskEventOf<T>>(request, signal);
  }
  return task.run(loaded.taskModel, request, signal);
}

/**
 * Opens a duplex session of a model's task (a live recognition stream): in one of the model's
 * executor threads when the task runs there (push takes ownership of a typed-array input), else on
 * this thread. `close` drops a session that will not be ended.
 */
export async function openTaskStream<In, Out>(loaded: LoadedModel, options: unknown): Promise<TaskStream<In, Out> & { close(): void }> {
  const task = taskModule(loaded.task) as unknown as TaskModule<string, unknown, unknown, unknown>;
  if (!task.stream) throw invalidArgument('model', `"${loaded.name}" is a ${loaded.task} model, which has no streams`);
  if (loaded.executor?.runsTask) return loaded.executor.openStream<In, Out>(options);
  const stream = task.stream.open(loaded.taskModel, options) as TaskStream<In, Out>;
  return { push: (input) => stream.push(input), end: () => stream.end(), close: () => undefined };
}
