/**
 * Dynamic batching in front of `LoadedGraph.run` (issue 18, item 2): which graphs are batched and
 * how (the manifest's `graphs.<g>.dynamicBatching`, else the server's defaults), the batcher of each
 * (server/core/batching/dynamic-batcher.ts), and `runGraph`, the one call KServe infer and the task
 * runners go through. LoadedGraph itself is untouched: the batcher calls its `run` with the stacked
 * feeds (or a request's own feeds and field names when it runs alone).
 *
 * Defaults: on for a graph whose inputs all have a symbolic batch axis 0 (one symbol, or unnamed)
 * and whose outputs too, with no `states`, and not a graph of a generation task (chat and caption
 * encoders and decoders have the generation engine's batching); only requests of identical shapes
 * apart from axis 0 share a batch unless the manifest says how to pad (`pad`).
 */
import { checkFeeds, type FeedCheckOptions } from '../core/feed-check.ts';
import { DynamicBatcher, type DynamicBatcherOptions, type DynamicBatcherSettings, type PadPlan } from '../core/batching/dynamic-batcher.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';
import type { DynamicBatchingSpec } from '../core/batching/dynamic-batching-spec.ts';
import type { Manifest } from '../core/manifest.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { LoadedGraph } from './loaded-graph.ts';

/** The server's dynamic-batching settings (`--dynamic-batching`, `--batch-delay`). */
export interface DynamicBatchingDefaults {
  /** Off: no graph is batched, whatever its manifest says. */
  enabled: boolean;
  /** Queue delay of graphs whose manifest sets none. */
  maxQueueDelayMicroseconds: number;
  /** Largest batch of graphs whose manifest sets none (and never above the graph's bound on axis 0). */
  maxBatchSize: number;
}

export const DEFAULT_DYNAMIC_BATCHING: DynamicBatchingDefaults = { enabled: true, maxQueueDelayMicroseconds: 0, maxBatchSize: 64 };

/** What the decision reads of a graph. */
export type BatchableGraph = Pick<LoadedGraph, 'name' | 'qualifiedName' | 'inputs' | 'outputs' | 'spec' | 'signature'>;

export type BatchingDecision =
  { on: true; options: Pick<DynamicBatcherOptions, 'name' | 'maxBatchSize' | 'maxQueueDelayMs' | 'preferredBatchSizes' | 'pad'> } | { on: false; why: string };

const INTEGER_TYPES = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/**
 * Whether and how graph `graph` of a model (its manifest's task and generation section) is batched,
 * and the manifest's mistakes about it (`graphs.<g>.dynamicBatching...: reason`: the model must not
 * load).
 */
export function batchingDecision(
  graph: BatchableGraph,
  model: Pick<Manifest, 'task' | 'generation'>,
  defaults: DynamicBatchingDefaults,
): { decision: BatchingDecision; problems: string[] } {
  const spec: DynamicBatchingSpec | undefined = graph.spec.dynamicBatching;
  const field = `graphs.${graph.name}.dynamicBatching`;
  const off = (why: string, problem?: string) => ({ decision: { on: false as const, why }, problems: problem && spec && spec.enabled !== false ? [`${field}: ${problem}`] : [] });
  if (graph.spec.states.length) return off('it has recurrent states', 'a graph with states is batched by its task (stream steps), not per request; remove the section');
  // a model with a generation section runs its encoder and decoder in the generation engine, which batches them itself
  if (model.generation && model.task !== 'generic')
    return off(`a ${model.task} model's graphs are batched by its generation engine`, `${model.task} graphs are batched by the generation engine; remove the section`);
  if (spec?.enabled === false) return off(`${field}.enabled is false`);
  if (!defaults.enabled) return off('--dynamic-batching off');
  const problems: string[] = [];
  // every input and output stacks along a symbolic axis 0; inputs name it alike (or not at all)
  const unbatched = [...graph.inputs, ...graph.outputs].find((t) => t.shape.length === 0 || t.shape[0] >= 0);
  const symbols = new Set(graph.inputs.map((t) => t.dimNames[0]).filter((s) => s !== undefined));
  if (unbatched || symbols.size > 1) {
    const why = unbatched
      ? `${graph.inputs.includes(unbatched) ? 'input' : 'output'} "${unbatched.name}" ([${unbatched.shape.join(', ')}]) has no symbolic batch axis 0`
      : `its inputs' axes 0 have different symbols (${[...symbols].join(', ')})`;
    return off(why, spec ? `cannot batch graph "${graph.name}": ${why}` : undefined);
  }
  if (!spec && graph.inputs.length === 0) return off('it has no inputs');
  // never more rows than the feed check allows on axis 0
  const bound = Math.min(...(graph.signature.maximums ?? []).filter((m) => m.axis === 0).map((m) => m.length));
  let maxBatchSize = spec?.maxBatchSize ?? defaults.maxBatchSize;
  if (maxBatchSize > bound) {
    if (spec?.maxBatchSize !== undefined) problems.push(`${field}.maxBatchSize: ${spec.maxBatchSize} is above the graph's bound on axis 0, ${bound}`);
    maxBatchSize = bound;
  }
  for (const [i, size] of (spec?.preferredBatchSizes ?? []).entries())
    if (size > maxBatchSize) problems.push(`${field}.preferredBatchSizes[${i}]: ${size} is above maxBatchSize ${maxBatchSize}`);
  let pad: PadPlan | undefined;
  if (spec?.pad) {
    const padField = `${field}.pad`;
    const symbolOf = new Map<string, { input: string; inputAxis: number }>();
    for (const [name, value] of Object.entries(spec.pad.values)) {
      const input = graph.inputs.find((t) => t.name === name);
      if (!input) {
        problems.push(`${padField}.values: graph "${graph.name}" has no input "${name}" (inputs: ${graph.inputs.map((t) => t.name).join(', ')})`);
        continue;
      }
      if ((INTEGER_TYPES.has(input.type) || input.type === 'bool') && !Number.isInteger(value))
        problems.push(`${padField}.values.${name}: input "${name}" is ${input.type}; ${value} is not an integer`);
      input.shape.forEach((d, axis) => {
        const symbol = input.dimNames[axis];
        if (axis > 0 && d < 0 && symbol !== undefined && !symbolOf.has(symbol)) symbolOf.set(symbol, { input: name, inputAxis: axis });
      });
    }
    const lengths = spec.pad.lengths;
    if (lengths !== undefined) {
      const input = graph.inputs.find((t) => t.name === lengths);
      if (!input) problems.push(`${padField}.lengths: graph "${graph.name}" has no input "${lengths}"`);
      else if (input.shape.length !== 1 || !INTEGER_TYPES.has(input.type))
        problems.push(`${padField}.lengths: input "${lengths}" is ${input.type} [${input.shape.join(', ')}]; lengths are one integer per row ([batch])`);
      else if (Object.hasOwn(spec.pad.values, lengths)) problems.push(`${padField}.values.${lengths}: the lengths input is not padded`);
    }
    const trim: PadPlan['trim'][number][] = [];
    for (const output of graph.outputs) {
      output.shape.forEach((d, axis) => {
        if (axis === 0 || d >= 0) return;
        const symbol = output.dimNames[axis];
        const source = symbol === undefined ? undefined : symbolOf.get(symbol);
        if (source) trim.push({ output: output.name, axis, ...source });
        else
          problems.push(
            `${padField}: output "${output.name}" axis ${axis} is variable (${symbol ? `"${symbol}"` : 'unnamed'}) and no padded input axis has that symbol, so it could not be cut back to each request's length; pad only graphs whose variable output axes share the padded inputs' symbols`,
          );
      });
    }
    pad = { values: spec.pad.values, trim, ...(spec.pad.lengthBuckets ? { lengthBuckets: true } : {}) };
  }
  if (problems.length) return { decision: { on: false, why: problems.join('; ') }, problems };
  return {
    decision: {
      on: true,
      options: {
        name: graph.qualifiedName,
        maxBatchSize,
        maxQueueDelayMs: (spec?.maxQueueDelayMicroseconds ?? defaults.maxQueueDelayMicroseconds) / 1000,
        preferredBatchSizes: spec?.preferredBatchSizes,
        pad,
      },
    },
    problems: [],
  };
}

const batchers = new WeakMap<LoadedGraph, DynamicBatcher<FeedCheckOptions>>();
const settings = new WeakMap<LoadedGraph, DynamicBatcherSettings>();

/**
 * How `graph` is batched, as plain data (undefined when it is not): for task calls that run in an
 * executor thread, whose graph runners batch with `batchingRunner` (server/core/batching/dynamic-batcher.ts).
 */
export function batchingSettings(graph: LoadedGraph): DynamicBatcherSettings | undefined {
  return settings.get(graph);
}

export interface BatchGraphsOptions {
  defaults?: DynamicBatchingDefaults;
  /** Requests allowed to wait to join a batch of one graph (`--max-queue`). */
  maxQueued: number;
  /** Batches of one graph running at once: the model's executor threads (`--model-instances`); default 1. */
  maxInflight?: number;
  metrics: Metrics;
  log: Logger;
}

/**
 * At load: puts a batcher in front of each graph of a model that is batched (throwing the manifest's
 * mistakes, each prefixed with `manifestPath`) and returns the runners the task gets, whose runs go
 * through the batchers.
 */
export function batchGraphs(graphs: ReadonlyMap<string, LoadedGraph>, manifest: Manifest, manifestPath: string, options: BatchGraphsOptions): Record<string, GraphRunner> {
  const runners: Record<string, GraphRunner> = {};
  for (const [name, graph] of graphs) {
    const { decision, problems } = batchingDecision(graph, manifest, options.defaults ?? DEFAULT_DYNAMIC_BATCHING);
    if (problems.length) throw new Error(problems.map((p) => `${manifestPath}: ${p}`).join('; '));
    attachBatcher(graph, decision, { maxQueued: options.maxQueued, maxInflight: options.maxInflight }, (rows) =>
      options.metrics.batchSize.observe({ model: graph.qualifiedName }, rows),
    );
    options.log.debug({ graph: graph.qualifiedName, dynamicBatching: decision.on ? decision.options : { off: decision.why } }, 'dynamic batching');
    runners[name] = batchedRunner(graph);
  }
  return runners;
}

/**
 * Puts a batcher in front of `graph` if the decision says so. `maxQueued` bounds the requests
 * waiting to join a batch (`--max-queue`), `maxInflight` the batches running at once; `onBatch`
 * gets each run's rows.
 */
export function attachBatcher(graph: LoadedGraph, decision: BatchingDecision, limits: { maxQueued: number; maxInflight?: number }, onBatch: (rows: number) => void): void {
  if (!decision.on) return;
  settings.set(graph, { ...decision.options, ...limits });
  batchers.set(graph, new DynamicBatcher<FeedCheckOptions>((feeds, outputs, check) => graph.run(feeds, outputs, check), { ...decision.options, ...limits, onBatch }));
}

/** The batching settings of each batched graph of a model, by graph name (for its executor threads' task runners). */
export function batchingSettingsOf(graphs: ReadonlyMap<string, LoadedGraph>): Record<string, DynamicBatcherSettings> {
  const out: Record<string, DynamicBatcherSettings> = {};
  for (const [name, graph] of graphs) {
    const s = settings.get(graph);
    if (s) out[name] = s;
  }
  return out;
}

/**
 * How `graph` is batched, for KServe metadata (`parameters.dynamic_batching`): Triton's names, or
 * null when it is not batched.
 */
export function batchingMetadata(graph: LoadedGraph): Record<string, unknown> | null {
  const s = settings.get(graph);
  if (!s) return null;
  return {
    max_batch_size: s.maxBatchSize,
    max_queue_delay_microseconds: Math.round(s.maxQueueDelayMs * 1000),
    preferred_batch_sizes: s.preferredBatchSizes ?? [],
    ...(s.pad ? { pad: s.pad.values, ...(s.pad.lengthBuckets ? { length_buckets: true } : {}) } : {}),
  };
}

/** Requests waiting to join a batch of `graph` (0 when it is not batched). */
export function batchDepth(graph: LoadedGraph): number {
  return batchers.get(graph)?.depth ?? 0;
}

export function isBatched(graph: LoadedGraph): boolean {
  return batchers.has(graph);
}

/**
 * Runs `graph` on one request's feeds: through its batcher when it has one (the feed is checked
 * first, alone, so its errors name the request's own fields), else directly. `signal` takes a
 * waiting request out of the queue.
 */
export function runGraph(graph: LoadedGraph, feeds: TensorMap, outputs?: readonly string[], check?: FeedCheckOptions, signal?: AbortSignal): Promise<TensorMap> {
  const batcher = batchers.get(graph);
  if (!batcher) return graph.run(feeds, outputs, check);
  try {
    checkFeeds(graph.signature, feeds, check);
  } catch (err) {
    return Promise.reject(err);
  }
  return batcher.submit({ feeds, outputs, context: check, signal });
}

/** The runner a task gets for `graph`: its runs go through the batcher (slot filling's tagger). */
export function batchedRunner(graph: LoadedGraph): GraphRunner {
  if (!batchers.has(graph)) return graph;
  return { inputNames: graph.inputNames, outputNames: graph.outputNames, run: (feeds) => runGraph(graph, feeds) };
}
