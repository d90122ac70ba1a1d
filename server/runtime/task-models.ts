import { invalidArgument, notFound } from '../core/errors.ts';
import { taskModule, type TaskEventOf, type TaskName, type TaskRequestOf } from '../tasks/registry.ts';
import type { TaskModule } from '../tasks/task-module.ts';
import type { LoadedModel, ModelRepository, TaskLoadedModel } from './model-repository.ts';

/** `model` as a model of `task`, or a 400 naming `field` when it is another task's. */
export function asTaskModel<T extends TaskName>(model: LoadedModel, task: T, field = 'model'): TaskLoadedModel<T> {
  if (model.task !== task) throw invalidArgument(field, `"${model.name}" is a ${model.task} model, not ${task}`);
  return model as TaskLoadedModel<T>;
}

/**
 * The model a task endpoint should use: the one named in the request, or else the ready model of
 * that task whose name sorts first.
 */
export function resolveTaskModel<T extends TaskName>(repository: ModelRepository, task: T, requested: string | undefined, field = 'model'): TaskLoadedModel<T> {
  if (requested !== undefined) return asTaskModel(repository.model(requested), task, field);
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
