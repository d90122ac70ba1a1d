import { invalidArgument, notFound } from '../core/errors.ts';
import type { Manifest } from '../core/manifest.ts';
import type { LoadedModel, ModelRepository } from './model-repository.ts';

/**
 * The model a task endpoint should use: the one named in the request, or else the ready model of
 * that task whose name sorts first.
 */
export function resolveTaskModel(repository: ModelRepository, task: Manifest['task'], requested: string | undefined): LoadedModel {
  if (requested !== undefined) {
    const model = repository.model(requested);
    if (model.manifest.task !== task) throw invalidArgument('model', `"${requested}" is a ${model.manifest.task} model, not ${task}`);
    return model;
  }
  const candidates = repository.readyModels().filter((m) => m.manifest.task === task);
  if (candidates.length === 0) throw notFound(`no ready ${task} model is loaded`, 'model');
  return candidates.sort((a, b) => a.name.localeCompare(b.name))[0];
}
