import type { AxisMaximum } from '../core/feed-check.ts';
import type { ModelRepository } from '../runtime/model-repository.ts';
import type { TensorInfo } from '../runtime/loaded-graph.ts';
import { batchingMetadata } from '../runtime/batched-graph.ts';
import { tensorMetadata } from './infer.ts';

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  /** seqserve additions: task, graph role, recurrent state pairs, input axis bounds, dynamic batching, the execution provider in use; inferred_manifest when the folder has no manifest.json. */
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
      max_shapes: JSON.stringify(maxShapes(graph.inputs, graph.signature.maximums ?? [])),
      dynamic_batching: JSON.stringify(batchingMetadata(graph)),
      graphs: [...model.graphs.values()].map((g) => g.qualifiedName).join(','),
      // inputs the server supplies (graphs.<g>.constants): clients do not send them
      ...(graph.spec.constants ? { constants: JSON.stringify(graph.spec.constants) } : {}),
      // auto-configuration: the folder has no manifest.json; the manifest served, as JSON (a string, as every parameter here)
      ...(model.inferred ? { inferred_manifest: JSON.stringify(model.inferred.manifest) } : {}),
    },
  };
}

/**
 * The bounds a request's shapes are held to, as `graphs.<g>.maxShapes` writes them: input -> the
 * bound of each axis, null where there is none (fixed dimensions are their own bound); inputs
 * without a bound are left out.
 */
function maxShapes(inputs: readonly TensorInfo[], maximums: readonly AxisMaximum[]): Record<string, (number | null)[]> {
  const out: Record<string, (number | null)[]> = {};
  for (const input of inputs) {
    const bounds = input.shape.map((d, axis) => maximums.find((m) => m.input === input.name && m.axis === axis)?.length ?? (d >= 0 ? d : null));
    if (bounds.some((b, axis) => b !== null && input.shape[axis] < 0)) out[input.name] = bounds;
  }
  return out;
}
