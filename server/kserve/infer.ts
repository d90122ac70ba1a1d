/**
 * KServe v2 inference, independent of transport: both the REST handler and the gRPC service decode
 * their wire format into an InferRequest, call `infer`, and encode the InferResult.
 */
import { Tensor } from 'onnxruntime-common';
import { SeqserveError, invalidArgument } from '../core/errors.ts';
import type { LoadedGraph, TensorInfo } from '../runtime/loaded-graph.ts';
import { runGraph } from '../runtime/batched-graph.ts';
import { isKServeDatatype, kserveDatatype } from './datatypes.ts';
import { bytesElement, elementCount, tensorFromJson, tensorFromRaw } from './tensor-codec.ts';

export interface InferInput {
  name: string;
  datatype: string;
  shape: number[];
  /** JSON `data` (flat or nested). */
  data?: unknown;
  /** Raw little-endian bytes (binary extension, gRPC raw_input_contents). */
  raw?: Uint8Array;
  /** BYTES elements received as bytes (gRPC `contents.bytes_contents`), each exactly its bytes. */
  bytes?: Uint8Array[];
}

export interface RequestedOutput {
  name: string;
  /** Binary tensor extension: return this output as raw bytes. */
  binary?: boolean;
}

/** Triton's sequence parameters: a step of a sequence whose state the server holds. */
export interface SequenceParameters {
  id: number | string;
  start: boolean;
  end: boolean;
}

export interface InferRequest {
  id?: string;
  /** `parameters.sequence_id` / `sequence_start` / `sequence_end`: a step of a server-held sequence. */
  sequence?: SequenceParameters;
  /** The request's other parameters (a task model's decoding parameters). */
  parameters?: Record<string, unknown>;
  inputs: InferInput[];
  outputs?: RequestedOutput[];
  /** Return every output as raw bytes unless an output says otherwise. */
  binaryOutputs?: boolean;
}

export interface InferOutput {
  name: string;
  datatype: string;
  shape: number[];
  tensor: Tensor;
  binary: boolean;
}

export interface InferResult {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: InferOutput[];
}

export interface InferLimits {
  /** Largest number of elements accepted in one input tensor. */
  maxElements: number;
  /**
   * Largest response: the requested outputs' tensor bytes (as raw tensors; JSON text is larger).
   * The same limit as a request body and a gRPC message, so a response is never cut by the transport.
   */
  maxResponseBytes?: number;
}

/** Refuses outputs over the response limit, before any of them is encoded. */
export function checkResponseSize(outputs: readonly { tensor: Tensor }[], limits: InferLimits): void {
  if (limits.maxResponseBytes === undefined) return;
  let bytes = 0;
  let elements = 0;
  for (const { tensor } of outputs) {
    elements += tensor.size;
    bytes += tensor.type === 'string' ? (tensor.data as string[]).reduce((n, s) => n + 4 + s.length, 0) : (tensor.data as ArrayBufferView).byteLength; // a BYTES element: a 4-byte length, then its bytes
  }
  if (bytes > limits.maxResponseBytes)
    throw new SeqserveError(
      'payload_too_large',
      `outputs: the requested outputs hold ${bytes} bytes (${elements} elements), over the response limit of ${limits.maxResponseBytes} bytes (--max-body-bytes); send a smaller batch or ask for fewer outputs`,
      { field: 'outputs' },
    );
}

export function tensorMetadata(t: TensorInfo): { name: string; datatype: string; shape: number[] } {
  return { name: t.name, datatype: kserveDatatype(t.type), shape: t.shape };
}

export function checkInput(
  input: InferInput,
  index: number,
  expected: TensorInfo | undefined,
  limits: InferLimits,
  graph: Pick<LoadedGraph, 'qualifiedName' | 'inputNames'>,
): Tensor {
  const field = `inputs[${index}]`;
  if (typeof input.name !== 'string' || !input.name) throw invalidArgument(`${field}.name`, 'is required');
  if (!expected) throw invalidArgument(`${field}.name`, `"${input.name}" is not an input of ${graph.qualifiedName} (inputs: ${graph.inputNames.join(', ')})`);
  const want = kserveDatatype(expected.type);
  if (typeof input.datatype !== 'string' || !isKServeDatatype(input.datatype)) throw invalidArgument(`${field}.datatype`, `"${String(input.datatype)}" is not a KServe datatype`);
  if (input.datatype !== want) throw invalidArgument(`${field}.datatype`, `input "${input.name}" takes ${want}, not ${input.datatype}`);
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalidArgument(`${field}.shape`, 'must be an array of non-negative integers');
  if (shape.length !== expected.shape.length)
    throw invalidArgument(`${field}.shape`, `input "${input.name}" has rank ${expected.shape.length} ([${expected.shape.join(', ')}]), not ${shape.length}`);
  // onnxruntime-node aborts the process on a zero-size tensor: refused before the data is decoded
  const empty = shape.indexOf(0);
  if (empty >= 0) throw invalidArgument(`${field}.shape`, `input "${input.name}" axis ${empty} has length 0; every axis must be at least 1`);
  expected.shape.forEach((d, i) => {
    if (d >= 0 && shape[i] !== d) throw invalidArgument(`${field}.shape`, `dimension ${i} of input "${input.name}" must be ${d}, not ${shape[i]}`);
  });
  const n = elementCount(shape);
  if (n > limits.maxElements) throw invalidArgument(`${field}.shape`, `${n} elements is over the limit of ${limits.maxElements}`);
  if (input.raw !== undefined) {
    if (input.data !== undefined) throw invalidArgument(field, 'has both data and binary contents');
    return tensorFromRaw(`${field}.data`, input.datatype, shape, input.raw);
  }
  if (input.bytes !== undefined) {
    if (input.bytes.length !== n) throw invalidArgument(`${field}.contents`, `has ${input.bytes.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    return new Tensor(
      'string',
      input.bytes.map((b, j) => bytesElement(`${field}.contents.bytes_contents[${j}]`, b)),
      shape,
    );
  }
  if (input.data === undefined) throw invalidArgument(`${field}.data`, 'is required');
  return tensorFromJson(`${field}.data`, input.datatype, shape, input.data);
}

/**
 * Triton's sequence parameters from a request's parameters (REST JSON values, or gRPC's decoded
 * InferParameter values): undefined without `sequence_id`; refused naming the field when malformed.
 */
/** The request parameters that are not the protocol's own (binary outputs, sequences): a task model's. */
export function taskParameters(parameters: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!parameters) return undefined;
  const rest = Object.fromEntries(Object.entries(parameters).filter(([k]) => !['binary_data_output', 'sequence_id', 'sequence_start', 'sequence_end'].includes(k)));
  return Object.keys(rest).length ? rest : undefined;
}

export function sequenceParameters(parameters: Record<string, unknown> | undefined): SequenceParameters | undefined {
  if (!parameters) return undefined;
  const { sequence_id: id, sequence_start: start, sequence_end: end } = parameters;
  if (id === undefined) {
    if (start !== undefined || end !== undefined) throw invalidArgument('parameters.sequence_id', 'is required with sequence_start or sequence_end');
    return undefined;
  }
  if (!(typeof id === 'string' ? id.length > 0 : Number.isSafeInteger(id) && (id as number) > 0))
    throw invalidArgument('parameters.sequence_id', 'must be a positive integer or a non-empty string (0 means no sequence in Triton and is not accepted)');
  for (const [name, v] of [
    ['sequence_start', start],
    ['sequence_end', end],
  ] as const)
    if (v !== undefined && typeof v !== 'boolean') throw invalidArgument(`parameters.${name}`, 'must be true or false');
  return { id: id as number | string, start: start === true, end: end === true };
}

/**
 * Runs one KServe request on `graph`: concurrent requests to a batched graph share a run
 * (server/runtime/batched-graph.ts); `signal` (the client gone, the deadline) takes a request that
 * still waits for its batch out of the queue.
 */
export async function infer(graph: LoadedGraph, modelVersion: string, request: InferRequest, limits: InferLimits, signal?: AbortSignal): Promise<InferResult> {
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) throw invalidArgument('inputs', 'must be a non-empty array');
  // no prototype: an input named "__proto__" or "constructor" is an unknown name, not an inherited one
  const feeds = Object.create(null) as Record<string, Tensor>;
  request.inputs.forEach((input, i) => {
    if (feeds[input?.name] !== undefined) throw invalidArgument(`inputs[${i}].name`, `"${input.name}" is given twice`);
    if (graph.isConstant(input?.name))
      throw invalidArgument(`inputs[${i}].name`, `"${input.name}" is a constant of ${graph.qualifiedName} that the server supplies; do not send it`);
    feeds[input?.name] = checkInput(
      input,
      i,
      graph.inputs.find((t) => t.name === input?.name),
      limits,
      graph,
    );
  });
  const sequences = request.sequence ? graph.sequenceBatcher() : undefined;
  const held = (name: string) => sequences?.isState(name) ?? false;
  const missing = graph.inputNames.filter((n) => !(n in feeds) && !held(n) && !graph.isConstant(n));
  if (missing.length) {
    const states = graph.spec.states.length ? ` (or send sequence_id in parameters and the server holds ${graph.spec.states.map((s) => s.input).join(', ')})` : '';
    throw invalidArgument('inputs', `missing input(s) ${missing.join(', ')} of ${graph.qualifiedName}${states}`);
  }
  const index = new Map(request.inputs.map((input, i) => [input.name, i]));
  // a sequence step returns its state outputs only when asked for them
  const requested = request.outputs?.length ? request.outputs : graph.outputNames.filter((name) => !sequences?.isStateOutput(name)).map((name) => ({ name, binary: undefined }));
  requested.forEach((o, i) => {
    if (!graph.outputNames.includes(o?.name))
      throw invalidArgument(`outputs[${i}].name`, `"${o?.name}" is not an output of ${graph.qualifiedName} (outputs: ${graph.outputNames.join(', ')})`);
  });
  const running = sequences
    ? sequences.step(request.sequence!, feeds)
    : runGraph(
        graph,
        feeds,
        requested.map((o) => o.name),
        // the run checks the whole feed against the signature (inputs sharing a dimension must agree), naming the request's fields
        { field: (name) => (index.has(name) ? `inputs[${index.get(name)}].shape` : undefined) },
        signal,
      );
  const results = await running.catch((err: unknown) => {
    if (err instanceof SeqserveError) throw err;
    // Shapes that pass the signature check can still disagree with each other inside the graph.
    throw new SeqserveError('invalid_argument', `${graph.qualifiedName}: ONNX Runtime rejected the inputs: ${String((err as Error)?.message ?? err).split('\n')[0]}`, {
      field: 'inputs',
    });
  });
  const outputs = requested.map((o) => {
    const tensor = results[o.name];
    return { name: o.name, datatype: kserveDatatype(tensor.type), shape: [...tensor.dims], tensor, binary: o.binary ?? request.binaryOutputs ?? false };
  });
  checkResponseSize(outputs, limits);
  return { modelName: graph.qualifiedName, modelVersion, ...(request.id ? { id: request.id } : {}), outputs };
}
