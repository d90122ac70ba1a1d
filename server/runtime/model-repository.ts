/**
 * The model repository: one folder per model under the repository directory, each with a
 * manifest.json. Models load independently; a bad one is recorded as failed with the file, field
 * and reason, and the others keep serving. Models can be (re)loaded and unloaded at run time.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SeqserveError, notFound } from '../core/errors.ts';
import { parseManifest, type Manifest } from '../core/manifest.ts';
import { loadSlotFiller } from '../core/slots/load-slot-filler.ts';
import type { SlotFiller } from '../core/slots/slot-filler.ts';
import { BatchScheduler } from '../core/batching/batch-scheduler.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';
import { loadAcousticModel } from '../core/speech/load-acoustic-model.ts';
import { GenerationEngine } from '../core/generation/generation-engine.ts';
import { loadSeq2SeqModel } from '../core/generation/seq2seq-model.ts';
import type { AcousticModel } from '../core/speech/recognizer-stream.ts';
import { loadMemoryNetwork, type MemoryNetwork } from '../core/qa/memory-network.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { LoadedGraph, warmUpFeeds } from './loaded-graph.ts';
import { WorkerGraphRunner } from './worker-graph-runner.ts';
import type { RunQueueOptions } from './run-queue.ts';
import type { ProviderName, SessionFactory } from './session-factory.ts';

export type ModelState = 'loading' | 'ready' | 'failed' | 'unloaded';

export interface LoadedModel {
  name: string;
  version: string;
  dir: string;
  manifest: Manifest;
  provider: ProviderName;
  graphs: Map<string, LoadedGraph>;
  slotFiller?: SlotFiller;
  acoustic?: AcousticModel;
  generator?: GenerationEngine;
  memory?: MemoryNetwork;
  /** Graphs that also run in worker threads (released with the model). */
  workers: WorkerGraphRunner[];
}

export interface ModelStatus {
  name: string;
  version: string;
  state: ModelState;
  /** Why the last load failed (file, field and reason), if it did. */
  reason?: string;
}

interface Entry {
  name: string;
  dir: string;
  state: ModelState;
  reason?: string;
  model?: LoadedModel;
  loading?: Promise<LoadedModel>;
}

export interface RepositoryOptions {
  root: string;
  /** Most stream steps batched into one run of a streaming graph. */
  maxBatch?: number;
  /** Most sequences a generation model decodes together (more wait for a row). */
  maxSequences?: number;
  sessions: SessionFactory;
  log: Logger;
  metrics: Metrics;
  queue: RunQueueOptions;
}

const MODEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export class ModelRepository {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: RepositoryOptions) {}

  get root(): string {
    return this.options.root;
  }

  /** Folders under the root that hold a manifest.json (folders starting with "_" or "." are skipped). */
  async scan(): Promise<string[]> {
    const names: string[] = [];
    for (const d of await readdir(this.root, { withFileTypes: true })) {
      if (!d.isDirectory() || d.name.startsWith('_') || d.name.startsWith('.')) continue;
      const hasManifest = await stat(path.join(this.root, d.name, 'manifest.json')).then(
        (s) => s.isFile(),
        () => false,
      );
      if (hasManifest) names.push(d.name);
    }
    return names.sort();
  }

  /** Loads every model found; failures are recorded per model, never thrown. */
  async loadAll(): Promise<void> {
    for (const name of await this.scan()) {
      await this.load(name).catch(() => undefined);
    }
  }

  index(): ModelStatus[] {
    return [...this.entries.values()]
      .map((e) => ({ name: e.name, version: e.model?.version ?? '', state: e.state, ...(e.reason ? { reason: e.reason } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  status(name: string): ModelStatus {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model "${name}"`, 'model');
    return { name, version: e.model?.version ?? '', state: e.state, ...(e.reason ? { reason: e.reason } : {}) };
  }

  readyModels(): LoadedModel[] {
    return [...this.entries.values()].flatMap((e) => (e.state === 'ready' && e.model ? [e.model] : []));
  }

  /** The ready model called `name` (optionally at `version`), or a not_found / unavailable error. */
  model(name: string, version?: string): LoadedModel {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model "${name}"`, 'model');
    if (e.state !== 'ready' || !e.model) {
      throw new SeqserveError('unavailable', `model "${name}" is not ready (${e.state}${e.reason ? `: ${e.reason}` : ''})`, { field: 'model' });
    }
    if (version && version !== e.model.version) throw notFound(`model "${name}" has no version "${version}" (it has "${e.model.version}")`, 'version');
    return e.model;
  }

  /**
   * Resolves a KServe model name to a graph: `model.graph`, or just `model` when it has one graph.
   */
  graph(qualifiedName: string, version?: string): LoadedGraph {
    const dot = qualifiedName.indexOf('.');
    const modelName = dot < 0 ? qualifiedName : qualifiedName.slice(0, dot);
    const model = this.model(modelName, version);
    if (dot < 0) {
      if (model.graphs.size === 1) return [...model.graphs.values()][0];
      throw notFound(`model "${modelName}" has several graphs; address one of: ${[...model.graphs.values()].map((g) => g.qualifiedName).join(', ')}`, 'model');
    }
    const graph = model.graphs.get(qualifiedName.slice(dot + 1));
    if (!graph) throw notFound(`model "${modelName}" has no graph "${qualifiedName.slice(dot + 1)}" (graphs: ${[...model.graphs.keys()].join(', ')})`, 'model');
    return graph;
  }

  /**
   * Loads or reloads a model from its folder. A reload that fails keeps the previous version
   * serving and reports the failure; a first load that fails marks the model failed.
   */
  async load(name: string): Promise<LoadedModel> {
    if (!MODEL_NAME.test(name)) throw notFound(`unknown model "${name}"`, 'model');
    const dir = path.join(this.root, name);
    const existing = this.entries.get(name);
    if (existing?.loading) return existing.loading;
    const entry: Entry = existing ?? { name, dir, state: 'loading' };
    this.entries.set(name, entry);
    if (!entry.model) entry.state = 'loading';
    const loading = this.open(name, dir);
    entry.loading = loading;
    try {
      const model = await loading;
      const previous = entry.model;
      Object.assign(entry, { model, state: 'ready', reason: undefined });
      this.options.metrics.modelReady.set({ model: name }, 1);
      this.options.log.info({ model: name, version: model.version, provider: model.provider, graphs: [...model.graphs.keys()] }, 'model ready');
      if (previous) await releaseModel(previous);
      return model;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      entry.reason = reason;
      if (!entry.model) {
        entry.state = 'failed';
        this.options.metrics.modelReady.set({ model: name }, 0);
      }
      this.options.log.error({ model: name, reason }, entry.model ? 'model reload failed; previous version keeps serving' : 'model failed to load');
      throw new SeqserveError('failed_precondition', `model "${name}" failed to load: ${reason}`, { field: 'model' });
    } finally {
      entry.loading = undefined;
    }
  }

  async unload(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model "${name}"`, 'model');
    const model = e.model;
    Object.assign(e, { model: undefined, state: 'unloaded', reason: undefined });
    this.options.metrics.modelReady.set({ model: name }, 0);
    if (model) await releaseModel(model);
    this.options.log.info({ model: name }, 'model unloaded');
  }

  async close(): Promise<void> {
    await Promise.all(this.readyModels().map(releaseModel));
    this.entries.clear();
  }

  private async open(name: string, dir: string): Promise<LoadedModel> {
    const read = async (file: string) => {
      try {
        return new Uint8Array(await readFile(path.join(dir, file)));
      } catch (err) {
        throw new Error(`${path.join(dir, file)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
      }
    };
    const manifestPath = path.join(dir, 'manifest.json');
    let manifest: Manifest;
    try {
      manifest = parseManifest(JSON.parse(new TextDecoder().decode(await read('manifest.json'))));
    } catch (err) {
      throw new Error(`${manifestPath}: ${(err as Error).message.replace(`${manifestPath}: `, '')}`);
    }
    if (manifest.name !== name) throw new Error(`${manifestPath}: name: "${manifest.name}" does not match its folder "${name}"`);
    const graphs = new Map<string, LoadedGraph>();
    const workers: WorkerGraphRunner[] = [];
    const graphBytes = new Map<string, Uint8Array>(); // kept while loading: a worker thread creates its own session from them
    let provider: ProviderName = 'cpu';
    try {
      for (const [graphName, spec] of Object.entries(manifest.graphs)) {
        const file = path.join(dir, spec.file);
        let created;
        try {
          const bytes = await read(spec.file);
          graphBytes.set(graphName, bytes);
          created = await this.options.sessions.create(bytes);
        } catch (err) {
          throw new Error(`${file}: cannot load ONNX graph "${graphName}": ${(err as Error).message.split('\n')[0]}`);
        }
        provider = created.provider;
        const graph = new LoadedGraph(name, graphName, `${name}.${graphName}`, spec, created.session, this.options.metrics, this.options.queue, manifest);
        graphs.set(graphName, graph);
        for (const s of spec.states) {
          if (!graph.inputNames.includes(s.input)) throw new Error(`${manifestPath}: graphs.${graphName}.states: graph has no input "${s.input}"`);
          if (!graph.outputNames.includes(s.output)) throw new Error(`${manifestPath}: graphs.${graphName}.states: graph has no output "${s.output}"`);
        }
        await graph.warmUp(warmupShapes(manifest, spec)).catch((err: Error) => {
          throw new Error(`${file}: warm-up run of graph "${graphName}" failed: ${err.message.split('\n')[0]}`);
        });
      }
      const model: LoadedModel = { name, version: manifest.version, dir, manifest, provider, graphs, workers };
      const runners: Record<string, GraphRunner> = Object.fromEntries(graphs);
      if (manifest.task === 'speech-recognition') {
        const acousticGraph = [...graphs.values()].find((g) => g.spec.role === 'acoustic');
        const inputShapes = Object.fromEntries((acousticGraph?.inputs ?? []).map((t) => [t.name, t.shape]));
        const label = acousticGraph?.qualifiedName ?? name;
        const makeStep = (runner: GraphRunner, batchAxes: Record<string, number>) => {
          const scheduler = new BatchScheduler(runner, { batchAxes, maxBatch: this.options.maxBatch ?? 64, onRun: (n) => this.options.metrics.batchSize.observe({ model: label }, n) });
          return (feeds: TensorMap) => scheduler.submit(feeds);
        };
        model.acoustic = await inModelDir(dir, loadAcousticModel(manifest, read, runners, { inputShapes, makeStep }));
      }
      if (manifest.task === 'chat' || manifest.task === 'caption') {
        // the encoder runs in a worker thread, beside the decoding loop (the main thread keeps its
        // session for KServe requests)
        const encoder = [...graphs.values()].find((g) => g.spec.role === 'encoder');
        if (encoder && this.options.sessions.options.encoderWorkers) {
          const file = path.join(dir, encoder.spec.file);
          const worker = await WorkerGraphRunner.start(
            encoder.qualifiedName,
            graphBytes.get(encoder.name)!,
            this.options.sessions.sessionOptions(provider),
            (s) => this.options.metrics.inferenceDuration.observe({ model: encoder.qualifiedName }, s),
            encoder.spec.states,
          ).catch((err: Error) => {
            throw new Error(`${file}: ${err.message}`);
          });
          workers.push(worker);
          await worker.run(warmUpFeeds(encoder.inputs, warmupShapes(manifest, encoder.spec))).catch((err: Error) => {
            throw new Error(`${file}: warm-up run of graph "${encoder.name}" in its worker failed: ${err.message.split('\n')[0]}`);
          });
          runners[encoder.name] = worker;
        }
        const seq2seq = await inModelDir(dir, loadSeq2SeqModel(manifest, read, runners));
        const decoderName = [...graphs.values()].find((g) => g.spec.role === 'decoder_step')?.qualifiedName ?? name;
        const metrics = this.options.metrics;
        model.generator = new GenerationEngine(seq2seq, {
          maxRows: this.options.maxSequences ?? 256,
          maxWaiting: this.options.queue.maxQueued,
          onIteration: (n) => metrics.batchSize.observe({ model: decoderName }, n),
          onActive: (n) => metrics.activeSequences.set({ model: name }, n),
        });
      }
      if (manifest.task === 'speech-qa') {
        model.memory = await inModelDir(dir, loadMemoryNetwork(manifest, read, runners));
      }
      if (manifest.task === 'slot-filling') {
        model.slotFiller = await inModelDir(dir, loadSlotFiller(manifest, read, runners));
      }
      return model;
    } catch (err) {
      await Promise.all([...graphs.values(), ...workers].map((g) => g.release().catch(() => undefined)));
      throw err;
    }
  }
}

/** Names the model folder in a loader's error (the loaders name the file inside it). */
function inModelDir<T>(dir: string, loading: Promise<T>): Promise<T> {
  return loading.catch((err: Error) => {
    throw new Error(err.message.startsWith(dir) ? err.message : `${dir}/${err.message}`);
  });
}

/** Warm-up shapes: the manifest's own, and one streaming chunk for an audio input. */
function warmupShapes(manifest: Manifest, spec: Manifest['graphs'][string]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  if (manifest.audio) shapes[manifest.audio.input] = [1, manifest.audio.contextSamples + manifest.audio.chunkSamples];
  return { ...shapes, ...spec.warmupShapes };
}

async function releaseModel(model: LoadedModel): Promise<void> {
  await Promise.all([...model.graphs.values(), ...model.workers].map((g) => g.release()));
}
