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

/**
 * KServe model metadata of a graph; a model that is not serving answers `unavailable` (503 /
 * UNAVAILABLE, as ready and infer do) with the reason, e.g. why it failed to load.
 */
export function modelMetadata(repository: ModelRepository, name: string, version?: string): ModelMetadata {
  const graph = repository.graph(name, version);
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
