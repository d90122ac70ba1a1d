import type { Tensor } from 'onnxruntime-common';

export type TensorMap = Record<string, Tensor>;

/**
 * What the core needs from an inference backend: run one ONNX graph. The server implements it over
 * onnxruntime-node (with queueing and metrics), the browser over onnxruntime-web.
 */
export interface GraphRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: TensorMap): Promise<TensorMap>;
}
