/**
 * KServe for a task model as a whole (`chat`: text in, text out; `caption`: image in; `asr`: audio
 * in; `slots`: text in, JSON spans out; ...), its graphs staying addressable as `model.graph`: the
 * name resolves to the model when its task gives a model-level interface (its endpoints' `kserve`),
 * and metadata and infer go through that interface — BYTES in, BYTES out, one element per item. A
 * one-graph model's name still takes its graph's own inputs (`takesGraphInputs`).
 */
import { Tensor } from 'onnxruntime-common';
import { invalidArgument, notFound, SeqserveError } from '../core/errors.ts';
import type { LoadedGraph } from '../runtime/loaded-graph.ts';
import type { LoadedModel, ModelRepository } from '../runtime/model-repository.ts';
import { splitQualifiedName } from '../runtime/model-lookup.ts';
import { TASK_ENDPOINTS } from '../service/task-endpoint-list.ts';
import type { TaskKServe, TaskTensor } from '../service/task-endpoints.ts';
import type { ServerContext } from '../context.ts';
import { runCall } from '../service/task-call.ts';
import { checkInput, checkResponseSize, infer, type InferInput, type InferLimits, type InferRequest, type InferResult } from './infer.ts';
import { bytesElementsFromRaw } from './tensor-codec.ts';
import { modelMetadata, type ModelMetadata } from './model-metadata.ts';

/** Items one model-level request may carry. */
export const MAX_TASK_ITEMS = 32;

export type KServeTarget =
  | { kind: 'graph'; graph: LoadedGraph }
  | { kind: 'model'; model: LoadedModel; kserve: TaskKServe }
  /** A model with several graphs and no model-level interface: metadata lists its graphs; infer addresses one. */
  | { kind: 'graphs'; model: LoadedModel };

/**
 * The model-level interface of a task: its own, or — for a task that generates text (Triton's
 * generate extension) — `text_input` → `text_output` over that.
 */
function taskKServe(task: string): TaskKServe | undefined {
  const endpoints = TASK_ENDPOINTS.find((e) => e.task === task)?.endpoints;
  if (endpoints?.kserve) return endpoints.kserve;
  const generate = endpoints?.generate;
  if (!generate) return undefined;
  return {
    inputs: [{ name: 'text_input', description: 'the prompt of each item' }],
    outputs: [{ name: 'text_output', description: 'the generated text of each' }],
    async infer(ctx, model, inputs, parameters, signal) {
      const works = await Promise.all(
        inputs.text_input.map((text, i) =>
          generate(ctx, model, text, parameters).catch((err: unknown) => {
            throw err instanceof SeqserveError && err.field === 'text_input' ? invalidArgument(`inputs.text_input[${i}]`, err.message.replace(/^text_input: /, '')) : err;
          }),
        ),
      );
      const texts = await Promise.all(
        works.map(async (work) => {
          let text = '';
          for await (const delta of work(signal)) text += delta;
          return text;
        }),
      );
      return { text_output: texts };
    },
  };
}

/** What a KServe model name addresses: a task model with a model-level interface, a model's graphs, or a graph. */
export function kserveTarget(repository: ModelRepository, name: string, version?: string): KServeTarget {
  const { graph } = splitQualifiedName(name);
  if (graph === undefined) {
    const model = repository.model(name, version);
    const kserve = taskKServe(model.task);
    if (kserve) return { kind: 'model', model, kserve };
    if (model.graphs.size > 1) return { kind: 'graphs', model };
  }
  return { kind: 'graph', graph: repository.graph(name, version) };
}

/** A model with several graphs and no model-level interface: its graphs, each addressable as `model.graph`. */
function graphsMetadata(model: LoadedModel): ModelMetadata {
  const graphs = [...model.graphs.values()].map((g) => g.qualifiedName).join(',');
  return {
    name: model.name,
    versions: [model.version],
    platform: 'seqserve_graphs',
    inputs: [],
    outputs: [],
    parameters: { task: model.manifest.task, execution_provider: model.provider, graphs, note: `infer one of its graphs: ${graphs}` },
  };
}

const bytes = (name: string) => ({ name, datatype: 'BYTES', shape: [-1] });
const tensorMetadata = (t: TaskTensor) => (t.datatype === 'FP32' ? { name: t.name, datatype: 'FP32', shape: [-1, -1] } : bytes(t.name));

export function taskModelMetadata(model: LoadedModel, kserve: TaskKServe): ModelMetadata {
  return {
    name: model.name,
    versions: [model.version],
    platform: 'seqserve_task',
    inputs: kserve.inputs.map((t) => bytes(t.name)),
    outputs: kserve.outputs.map(tensorMetadata),
    parameters: {
      task: model.manifest.task,
      execution_provider: model.provider,
      graphs: [...model.graphs.values()].map((g) => g.qualifiedName).join(','),
      ...Object.fromEntries([...kserve.inputs, ...kserve.outputs].map((t) => [`${t.name}.description`, t.description])),
    },
  };
}

/** A model's graphs with their inputs, for messages: `slots.tagger (word_ids, ngram_ids, shape_ids)`. */
function graphList(model: LoadedModel): string {
  return [...model.graphs.values()].map((g) => `${g.qualifiedName} (${g.inputNames.join(', ')})`).join(', ');
}

const BASE64_TEXT = /^(data:|[A-Za-z0-9+/=_\-\s]*$)/;

/**
 * A file input (an image, a WAV) sent as bytes — gRPC `bytes_contents` or the binary extension, as
 * Triton's clients send a file — as the text a task's interface reads: elements that are base64
 * text or a data: URL already (all base64 characters) stay as they are, any other bytes are the
 * file itself and are base64-encoded.
 */
function fileInputAsText(input: InferInput, index: number): InferInput {
  const shapeOk = Array.isArray(input?.shape) && input.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  const elements =
    input?.bytes ??
    (input?.raw !== undefined && input.datatype === 'BYTES' && input.data === undefined && shapeOk
      ? bytesElementsFromRaw(`inputs[${index}].data`, input.shape, input.raw)
      : undefined);
  if (!elements) return input;
  const text = elements.map((b) => {
    const asText = Buffer.from(b).toString('latin1');
    return BASE64_TEXT.test(asText) ? asText : Buffer.from(b).toString('base64');
  });
  return { name: input.name, datatype: input.datatype, shape: input.shape, data: text };
}

/** One model-level infer: every input a BYTES vector of the same length, at most MAX_TASK_ITEMS. */
export async function inferTaskModel(
  ctx: ServerContext,
  model: LoadedModel,
  kserve: TaskKServe,
  request: InferRequest,
  limits: InferLimits,
  signal: AbortSignal,
): Promise<InferResult> {
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) throw invalidArgument('inputs', 'must be a non-empty array');
  if (request.sequence)
    throw invalidArgument(
      'parameters.sequence_id',
      `${model.name} answers through its task's interface, which holds no sequence state; send sequences to a graph with states (${graphList(model)})`,
    );
  const names = kserve.inputs.map((t) => t.name);
  const signature = { qualifiedName: model.name, inputNames: names };
  const inputs = Object.create(null) as Record<string, string[]>; // "__proto__" is a name like any other
  let items: number | undefined;
  const files = new Set(kserve.inputs.filter((t) => t.file).map((t) => t.name));
  request.inputs.forEach((given, i) => {
    if (inputs[given?.name] !== undefined) throw invalidArgument(`inputs[${i}].name`, `"${given.name}" is given twice`);
    if (typeof given?.name === 'string' && given.name && !names.includes(given.name))
      throw invalidArgument(`inputs[${i}].name`, `"${given.name}" is not an input of ${model.name} (inputs: ${names.join(', ')}); its graphs take their own: ${graphList(model)}`);
    const input = files.has(given?.name) ? fileInputAsText(given, i) : given;
    const expected = names.includes(input?.name) ? { name: input.name, type: 'string' as const, shape: [-1], dimNames: [undefined] } : undefined;
    const tensor = checkInput(input, i, expected, limits, signature);
    const n = tensor.dims[0];
    if (n > MAX_TASK_ITEMS) throw invalidArgument(`inputs[${i}].shape`, `${n} items is over the limit of ${MAX_TASK_ITEMS} per request`);
    if (items !== undefined && n !== items) throw invalidArgument(`inputs[${i}].shape`, `has ${n} items; the other inputs have ${items}`);
    items = n;
    inputs[input.name] = tensor.data as string[];
  });
  const missing = names.filter((n) => !(n in inputs));
  if (missing.length) throw invalidArgument('inputs', `missing input(s) ${missing.join(', ')} of ${model.name}`);
  const outputNames = kserve.outputs.map((t) => t.name);
  const requested = request.outputs?.length ? request.outputs : outputNames.map((name) => ({ name, binary: undefined }));
  requested.forEach((o, i) => {
    if (!outputNames.includes(o?.name)) throw invalidArgument(`outputs[${i}].name`, `"${o?.name}" is not an output of ${model.name} (outputs: ${outputNames.join(', ')})`);
    if (requested.findIndex((other) => other?.name === o.name) < i) throw invalidArgument(`outputs[${i}].name`, `"${o.name}" is asked for twice`);
  });
  const results = await kserve.infer(ctx, model, inputs, request.parameters ?? {}, signal);
  const outputs = requested.map((o) => {
    const data = results[o.name];
    const binary = o.binary ?? request.binaryOutputs ?? false;
    if (data.every((d): d is string => typeof d === 'string'))
      return { name: o.name, datatype: 'BYTES', shape: [data.length], tensor: new Tensor('string', data, [data.length]), binary };
    const vectors = data as Float32Array[];
    const width = vectors[0]?.length ?? 0;
    const stacked = new Float32Array(vectors.length * width);
    vectors.forEach((v, i) => stacked.set(v, i * width));
    return { name: o.name, datatype: 'FP32', shape: [vectors.length, width], tensor: new Tensor('float32', stacked, [vectors.length, width]), binary };
  });
  checkResponseSize(outputs, limits);
  return { modelName: model.name, modelVersion: model.version, ...(request.id ? { id: request.id } : {}), outputs };
}

/**
 * A request to a one-graph task model that names only its graph's inputs (a client written for the
 * graph, before the model-level interface) goes to the graph, as if it had named `model.graph`;
 * were an interface input's name also the graph's, tensors that are not all BYTES are the graph's.
 */
function takesGraphInputs(model: LoadedModel, kserve: TaskKServe, request: InferRequest): boolean {
  if (model.graphs.size !== 1 || !Array.isArray(request.inputs) || request.inputs.length === 0) return false;
  const graphInputs = new Set([...model.graphs.values()][0].inputNames);
  if (!request.inputs.every((t) => graphInputs.has(t?.name))) return false;
  const interfaceInputs = new Set(kserve.inputs.map((t) => t.name));
  return request.inputs.some((t) => !interfaceInputs.has(t.name) || t.datatype !== 'BYTES');
}

/** KServe model metadata of what `name` addresses (a task model's interface, or a graph). */
export function kserveMetadata(repository: ModelRepository, name: string, version?: string): ModelMetadata {
  const target = kserveTarget(repository, name, version);
  if (target.kind === 'model') return taskModelMetadata(target.model, target.kserve);
  if (target.kind === 'graphs') return graphsMetadata(target.model);
  return modelMetadata(repository, name, version);
}

/**
 * One KServe infer of what a name addresses (`kserveTarget`), through the call service (REST and
 * gRPC alike): a task model's interface, or a graph.
 */
export function runKServeInfer(ctx: ServerContext, target: KServeTarget, request: InferRequest, signal?: AbortSignal): Promise<InferResult> {
  const limits = { maxElements: ctx.config.limits.maxTensorElements, maxResponseBytes: ctx.config.limits.maxBodyBytes };
  if (target.kind === 'graphs') {
    const graphs = [...target.model.graphs.values()].map((g) => g.qualifiedName);
    throw notFound(`model "${target.model.name}" has several graphs and no model-level interface; infer one of: ${graphs.join(', ')}`, 'model');
  }
  if (target.kind === 'model' && takesGraphInputs(target.model, target.kserve, request))
    return runKServeInfer(ctx, { kind: 'graph', graph: [...target.model.graphs.values()][0] }, request, signal);
  if (target.kind === 'model') {
    return runCall(ctx, { model: target.model.name, endpoint: 'kserve_infer', kind: 'request', ...(signal ? { signal } : {}) }, (s) =>
      inferTaskModel(ctx, target.model, target.kserve, request, limits, s),
    );
  }
  const { graph } = target;
  const modelVersion = ctx.repository.model(graph.model).version;
  return runCall(ctx, { model: graph.model, label: graph.qualifiedName, endpoint: 'kserve_infer', kind: 'request', ...(signal ? { signal } : {}) }, (s) =>
    infer(graph, modelVersion, request, limits, s),
  );
}
