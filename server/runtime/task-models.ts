import { invalidArgument, notFound } from '../core/errors.ts';
import type { TaskName } from '../tasks/registry.ts';
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
