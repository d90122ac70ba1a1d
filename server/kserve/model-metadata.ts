import { SeqserveError } from '../core/errors.ts';
import type { ModelRepository } from '../runtime/model-repository.ts';
import { tensorMetadata } from './infer.ts';

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  /** seqserve additions: task, graph role, recurrent state pairs, the execution provider in use. */
  parameters: Record<string, string>;
}

/** KServe model metadata of a graph; a model that failed to load answers with its reason. */
export function modelMetadata(repository: ModelRepository, name: string, version?: string): ModelMetadata {
  let graph;
  try {
    graph = repository.graph(name, version);
  } catch (err) {
    if (err instanceof SeqserveError && err.code === 'unavailable') throw new SeqserveError('failed_precondition', err.message, { field: 'model' });
    throw err;
  }
  const model = repository.model(graph.model);
  return {
    name: graph.qualifiedName,
    versions: [model.version],
    platform: 'onnxruntime_onnx',
    inputs: graph.inputs.map(tensorMetadata),
    outputs: graph.outputs.map(tensorMetadata),
    parameters: {
      task: model.manifest.task,
      role: graph.spec.role,
      execution_provider: model.provider,
      states: JSON.stringify(graph.spec.states),
      graphs: [...model.graphs.values()].map((g) => g.qualifiedName).join(','),
    },
  };
}
