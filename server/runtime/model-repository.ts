/**
 * The model repository: one folder per model under the repository directory, each with a
 * manifest.json — or only ONNX files, served with a manifest inferred from the graphs
 * (auto-configuration: manifest-inference-folder.ts). Models load independently; a bad one is
 * recorded as failed with the file, field and reason, and the others keep serving. Every folder is
 * listed (except "_" and "." ones, which hold shared files): one that cannot be a model (an invalid
 * name, no manifest.json and no ONNX files that decide one, a Triton config.pbtxt folder without
 * ONNX) is failed with the reason. Models can be (re)loaded and
 * unloaded at run time. A root that is itself a model folder (manifest.json at its top, as KServe
 * downloads one InferenceService's storageUri to /mnt/models) is a repository of that one model,
 * named by its manifest; its sub-folders are the model's own files, not models.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { SeqserveError, notFound } from '../core/errors.ts';
import { DEFAULT_MAX_AXIS_LENGTH } from '../core/feed-check.ts';
import { readManifest, type Manifest } from '../core/manifest.ts';
import type { GraphRunner } from '../core/graph-runner.ts';
import { taskModule, type TaskModelOf, type TaskName } from '../tasks/registry.ts';
import type { TaskModule, TaskPlatform } from '../tasks/task-module.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { inThreadSession, LoadedGraph, type TensorInfo } from './loaded-graph.ts';
import { graphOf, readyModel, splitQualifiedName } from './model-lookup.ts';
import { serverPlatform } from './server-platform.ts';
import { batchGraphs, batchingSettingsOf, type DynamicBatchingDefaults } from './batched-graph.ts';
import { ModelExecutor, type GraphSession } from './model-executor.ts';
import type { RunQueueOptions } from './run-queue.ts';
import type { ProviderName, SessionFactory } from './session-factory.ts';
import { hasManifest, inferFolderManifest, isOnnxOnlyModelFolder, planFolder, type FolderInference } from './manifest-inference-folder.ts';
import { signatureProblems } from '../core/graph-signature.ts';
import { modelFilePath } from './model-file-path.ts';

export type ModelState = 'loading' | 'ready' | 'failed' | 'unloaded';

interface LoadedModelBase {
  name: string;
  version: string;
  dir: string;
  manifest: Manifest;
  provider: ProviderName;
  graphs: Map<string, LoadedGraph>;
  /** The executor threads every graph runs in (none with `--executors off`); released with the model. */
  executor?: ModelExecutor;
  /** The manifest inferred from the graphs when the folder has no manifest.json (auto-configuration), with what to check. */
  inferred?: FolderInference;
}

/** A loaded model: its graphs and, by `task`, the model its task module built over them (a GenerationEngine for chat, ...). */
export type LoadedModel = { [T in TaskName]: LoadedModelBase & { task: T; taskModel: TaskModelOf<T> } }[TaskName];

/** A loaded model of task `T`. */
export type TaskLoadedModel<T extends TaskName> = Extract<LoadedModel, { task: T }>;

export interface ModelStatus {
  name: string;
  version: string;
  state: ModelState;
  /** Why the last load failed (file, field and reason), if it did. */
  reason?: string;
  /** Said of a model that serves: its manifest was inferred from the graph (no manifest.json). */
  note?: string;
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
  /** Bound of a symbolic input axis that neither the manifest nor the task bounds (`--max-axis-length`, default DEFAULT_MAX_AXIS_LENGTH; 0: none). */
  maxAxisLength?: number;
  sessions: SessionFactory;
  log: Logger;
  metrics: Metrics;
  queue: RunQueueOptions;
  /** Dynamic batching of stateless graphs (server/runtime/batched-graph.ts); default DEFAULT_DYNAMIC_BATCHING. */
  dynamicBatching?: DynamicBatchingDefaults;
  /** How long a reloaded model's previous version may finish the work it holds before it is released (default 30 s). */
  retireSeconds?: number;
  /**
   * Whether requests or streams of the model are open (admission's count): a reloaded model's
   * previous version waits for them too, since a task that runs on the main thread (spoken QA) or a
   * request still reading its body holds the version without work in its executor.
   */
  inUse?: (model: string) => boolean;
}

export class ModelRepository {
  private readonly entries = new Map<string, Entry>();
  /** Previous versions of reloaded models, finishing their work in flight before they are released. */
  private readonly retiring = new Set<LoadedModel>();

  constructor(private readonly options: RepositoryOptions) {}

  get root(): string {
    return this.options.root;
  }

  /**
   * The name of the one model when the root is itself a model folder (manifest.json at its top):
   * the manifest's name, or — when the manifest cannot be read for one — the root folder's own name,
   * so the model is listed as failed with the manifest's problem. A root holding only ONNX files
   * (at its top or in Triton version folders) is one model too, named after the folder, with an
   * inferred manifest. Undefined for a repository of model folders.
   */
  async singleModel(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.root, 'manifest.json'), 'utf8');
    } catch {
      return (await isOnnxOnlyModelFolder(this.root)) ? path.basename(path.resolve(this.root)) : undefined;
    }
    try {
      const name: unknown = (JSON.parse(text) as { name?: unknown }).name;
      if (typeof name === 'string' && name) return name;
    } catch {
      // the load reports the manifest's problem
    }
    return path.basename(path.resolve(this.root));
  }

  /** The folder of model `name`: the root itself when it is a model folder, else the sub-folder `name`. */
  async folderOf(name: string): Promise<string> {
    return (await this.singleModel()) === name ? this.root : path.join(this.root, name);
  }

  /**
   * Every folder under the root, model or not (folders starting with "_" or "." hold shared files
   * and are left out): the names load() accepts. A root that is a model folder holds that model only.
   */
  async scan(): Promise<string[]> {
    const single = await this.singleModel();
    if (single !== undefined) return [single];
    const names: string[] = [];
    for (const d of await readdir(this.root, { withFileTypes: true })) {
      if (d.name.startsWith('_') || d.name.startsWith('.')) continue;
      // a symbolic link to a folder is a model folder too (repositories assembled with ln -s, volume mounts)
      const folder =
        d.isDirectory() ||
        (d.isSymbolicLink() &&
          (await stat(path.join(this.root, d.name)).then(
            (s) => s.isDirectory(),
            () => false,
          )));
      if (folder) names.push(d.name);
    }
    return names.sort();
  }

  /** Loads every folder; failures are recorded per folder (with the reason), logged, never thrown. */
  async loadAll(): Promise<void> {
    // a few at a time (one more than the cores, at most 4: the cores seen may be more than a
    // container may use, and each load holds its files' bytes): a load mostly waits on files and on
    // its executor thread starting up, so loads overlap well (12 bundled models: 14.6 → 9.6 s on 2 cores)
    const names = await this.scan();
    const next = async (): Promise<void> => {
      for (let name = names.shift(); name !== undefined; name = names.shift()) await this.load(name).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(4, availableParallelism() + 1) }, next));
    const index = this.index();
    const notServing = index.filter((m) => m.state !== 'ready');
    const summary = `model repository ${this.root}: ${index.length - notServing.length} ready, ${notServing.length} not serving`;
    if (notServing.length === 0) this.options.log.info({ ready: index.map((m) => m.name) }, summary);
    else
      this.options.log.warn(
        { ready: index.filter((m) => m.state === 'ready').map((m) => m.name), notServing: notServing.map((m) => ({ name: m.name, reason: m.reason })) },
        summary,
      );
  }

  /** The models loaded, failed or unloaded so far, with the reason each one that is not serving is not. */
  index(): ModelStatus[] {
    return [...this.entries.values()].map((e) => this.statusOf(e)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Every folder of the repository and every model known: index() plus the folders added since
   * start-up (state `unloaded`, with the reason they cannot load if it shows without loading).
   */
  async list(): Promise<ModelStatus[]> {
    const known = this.index();
    const names = new Set(known.map((m) => m.name));
    const added: ModelStatus[] = [];
    for (const name of await this.scan()) {
      if (names.has(name)) continue;
      const problem = await folderProblem(await this.folderOf(name), name);
      added.push({ name, version: '', state: 'unloaded', reason: problem ?? 'added after start-up: not loaded yet' });
    }
    return [...known, ...added].sort((a, b) => a.name.localeCompare(b.name));
  }

  private statusOf(e: Entry): ModelStatus {
    const reason = e.reason ?? (e.state === 'unloaded' ? 'unloaded on request' : undefined);
    const note = e.state === 'ready' && e.model?.inferred ? inferredNote(e.model.dir, e.model.inferred) : undefined;
    return { name: e.name, version: e.model?.version ?? '', state: e.state, ...(reason ? { reason } : {}), ...(note ? { note } : {}) };
  }

  status(name: string): ModelStatus {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model "${name}"`, 'model');
    return this.statusOf(e);
  }

  readyModels(): LoadedModel[] {
    return [...this.entries.values()].flatMap((e) => (e.state === 'ready' && e.model ? [e.model] : []));
  }

  /**
   * The ready model called `name` (optionally at `version`), or a not_found error (no such model) or
   * an `unavailable` one (the model is not serving: 503 / UNAVAILABLE on every endpoint) that says why.
   */
  model(name: string, version?: string): LoadedModel {
    return readyModel(name, this.entries.get(name), version);
  }

  /**
   * Resolves a KServe model name to a graph: `model.graph`, or just `model` when it has one graph.
   */
  graph(qualifiedName: string, version?: string): LoadedGraph {
    const { model: modelName, graph } = splitQualifiedName(qualifiedName);
    return graphOf(modelName, this.model(modelName, version).graphs, graph);
  }

  /**
   * Loads or reloads a model from its folder. A reload that fails keeps the previous version
   * serving and reports the failure; a first load that fails marks the model failed.
   */
  async load(name: string): Promise<LoadedModel> {
    const existing = this.entries.get(name);
    // only folders of the root (scan() lists them: no "..", no paths) or models already known
    if (!existing && !(await this.scan()).includes(name)) throw notFound(`no model folder "${name}" in the repository ${this.root}`, 'model');
    const dir = existing?.dir ?? (await this.folderOf(name));
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
      if (previous) this.retire(previous);
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
    const retiring = [...this.retiring];
    this.retiring.clear(); // before the await: a retirement that ends meanwhile does not release again
    await Promise.all([...this.readyModels(), ...retiring].map(releaseModel));
    this.entries.clear();
  }

  /**
   * Releases a reloaded model's previous version once the work it holds has finished (new work goes
   * to the new version already), or after `retireSeconds`: a reload does not fail the requests in
   * flight (it did: "the model's executor stopped during this request").
   */
  private retire(model: LoadedModel): void {
    this.retiring.add(model);
    const seconds = this.options.retireSeconds ?? 30;
    const inUse = this.options.inUse ?? (() => false);
    const end = Date.now() + seconds * 1000;
    void (async () => {
      // open calls of the model may be the new version's too: then it waits for the time limit
      while (((model.executor?.inFlight ?? 0) > 0 || inUse(model.name)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (!this.retiring.delete(model)) return; // released by close()
      await releaseModel(model);
    })().catch((err: unknown) => this.options.log.warn({ err, model: model.name }, 'releasing the previous version failed'));
  }

  /** How the server runs task graphs: concurrent streams' steps batched, generation rows and waiting requests bounded, metrics. */
  /** Sequences a generation model decodes together, and stream steps batched into one run (the options' or the defaults). */
  private get rows(): number {
    return this.options.maxSequences ?? 256;
  }

  private get streamBatch(): number {
    return this.options.maxBatch ?? 64;
  }

  private platform(model: string): TaskPlatform {
    const { metrics, queue } = this.options;
    return serverPlatform(
      model,
      { maxRows: this.rows, maxWaiting: queue.maxQueued, streamBatch: this.streamBatch },
      { batchSize: (graph, n) => metrics.batchSize.observe({ model: graph }, n), activeSequences: (m, n) => metrics.activeSequences.set({ model: m }, n) },
    );
  }

  private async open(name: string, dir: string): Promise<LoadedModel> {
    // a root that is the model folder with a manifest.json: its load names any problem with its name
    const manifestHere = await hasManifest(dir);
    const problem = dir === this.root && manifestHere ? undefined : await folderProblem(dir, name);
    if (problem) throw new Error(problem);
    // no manifest.json: auto-configuration (the folder's ONNX files decide it, or folderProblem said why not)
    const inferred = manifestHere ? undefined : await inferFolderManifest(dir, name, (bytes) => this.options.sessions.describe(bytes));
    if (!inferred) return this.openWith(name, dir);
    const model = await this.openWith(name, dir, inferred).catch((err: Error) => {
      throw new Error(`${err.message} (the manifest was inferred from the graph: \`seqserve init ${dir}\` writes it to manifest.json to edit)`);
    });
    this.options.log.info(
      { model: name, manifest: inferred.manifest, notes: inferred.notes },
      `model "${name}": no manifest.json; manifest inferred from ${inferred.plan.files.join(', ')}`,
    );
    return model;
  }

  private async openWith(name: string, dir: string, inferred?: FolderInference): Promise<LoadedModel> {
    const read = async (file: string) => {
      const where = await modelFilePath(dir, file); // a name in the folder, or an npm: reference
      try {
        return new Uint8Array(await readFile(where));
      } catch (err) {
        throw new Error(`${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
      }
    };
    const manifestPath = path.join(dir, 'manifest.json');
    const manifestText = inferred ? JSON.stringify(inferred.manifest) : new TextDecoder().decode(await read('manifest.json'));
    const manifest: Manifest = readManifest(manifestText, manifestPath);
    if (manifest.name !== name)
      throw new Error(
        dir === this.root
          ? `${manifestPath}: name: "${manifest.name}" is not "${name}", the name this model was listed under (the manifest changed since)`
          : `${manifestPath}: name: "${manifest.name}" does not match its folder "${name}"`,
      );
    const graphs = new Map<string, LoadedGraph>();
    let executor: ModelExecutor | undefined;
    const inThread: GraphSession[] = [];
    let provider: ProviderName = 'cpu';
    try {
      const files: { name: string; bytes: Uint8Array }[] = [];
      for (const [graphName, spec] of Object.entries(manifest.graphs)) files.push({ name: graphName, bytes: await read(spec.file) }); // "<file>: file not found"
      const cannotLoad = (graph: string | undefined, err: Error) =>
        new Error(`${path.join(dir, manifest.graphs[graph ?? '']?.file ?? '')}: cannot load ONNX graph "${graph ?? '?'}": ${err.message.split('\n')[0]}`);
      const sessions = new Map<string, GraphSession>();
      if (this.options.sessions.options.executors) {
        // every graph runs in the model's executor threads, off this thread's event loop
        const { metrics, log } = this.options;
        const created = await this.options.sessions
          .withProvider((options) =>
            ModelExecutor.start(name, files, options, {
              instances: manifest.instances ?? this.options.sessions.options.instances,
              nice: this.options.sessions.options.executorNice,
              onRun: (graph, seconds) => metrics.inferenceDuration.observe({ model: `${name}.${graph}` }, seconds),
              onBatch: (graph, rows) => metrics.batchSize.observe({ model: graph }, rows),
              onActive: (n) => metrics.activeSequences.set({ model: name }, n),
              onReplace: (instance, why) => {
                metrics.executorRestarts.inc({ model: name });
                log.error({ model: name, instance, why }, 'a model executor thread stopped; its runs failed with UNAVAILABLE; starting a replacement');
              },
            }),
          )
          .catch((err: Error & { graph?: string }) => {
            throw cannotLoad(err.graph, err);
          });
        executor = created.value;
        provider = created.provider;
        for (const f of files) sessions.set(f.name, executor.graphs[f.name]);
      } else {
        for (const f of files) {
          const created = await this.options.sessions.create(f.bytes).catch((err: Error) => {
            throw cannotLoad(f.name, err);
          });
          provider = created.provider;
          sessions.set(f.name, inThreadSession(created.session));
          inThread.push(sessions.get(f.name)!);
        }
      }
      for (const [graphName, spec] of Object.entries(manifest.graphs)) {
        const file = path.join(dir, spec.file);
        const bounds = {
          maxAxisLength: this.options.maxAxisLength ?? DEFAULT_MAX_AXIS_LENGTH,
          decoderRows: this.rows,
          streamBatch: this.streamBatch,
        };
        const graph = new LoadedGraph(name, graphName, `${name}.${graphName}`, spec, sessions.get(graphName)!, this.options.metrics, this.options.queue, manifest, bounds);
        graphs.set(graphName, graph);
        if (graph.boundProblems.length) throw new Error(graph.boundProblems.map((p) => `${manifestPath}: ${p}`).join('; '));
        const declared = signatureProblems(graphName, spec, { inputs: graph.inputs, outputs: graph.outputs });
        if (declared.length) throw new Error(declared.map((p) => `${manifestPath}: ${p}`).join('; '));
        for (const s of spec.states) {
          if (!graph.inputNames.includes(s.input)) throw new Error(`${manifestPath}: graphs.${graphName}.states: graph has no input "${s.input}"`);
          if (!graph.outputNames.includes(s.output)) throw new Error(`${manifestPath}: graphs.${graphName}.states: graph has no output "${s.output}"`);
        }
        const shapes = warmupShapes(manifest, spec);
        await graph.warmUp(shapes).catch((err: Error) => {
          throw new Error(warmUpFailure(file, manifestPath, graphName, graph.inputs, shapes, err, ''));
        });
      }
      const task: TaskModule = taskModule(manifest.task);
      // stateless graphs batch concurrent requests (KServe infer, the task's own runs) unless the manifest or the server says not to
      const runners = batchGraphs(graphs, manifest, manifestPath, {
        defaults: this.options.dynamicBatching,
        maxQueued: this.options.queue.maxQueued,
        maxInflight: executor ? (manifest.instances ?? this.options.sessions.options.instances) : 1,
        metrics: this.options.metrics,
        log: this.options.log,
      });
      const inputShapes = Object.fromEntries([...graphs.values()].map((g) => [g.name, Object.fromEntries(g.inputs.map((t) => [t.name, t.shape]))]));
      const taskModel = await inModelDir(dir, task.load({ manifest, read, runners, inputShapes, platform: this.platform(name) }));
      // a task whose requests and events are plain data runs its calls in the executor threads, each with its own task model
      if (executor && task.runsInExecutor) {
        const { queue } = this.options;
        await executor
          .loadTask({
            dir,
            manifest: manifestText,
            signatures: Object.fromEntries([...graphs.values()].map((g) => [g.name, g.signature])),
            batching: batchingSettingsOf(graphs),
            platform: { maxRows: this.rows, maxWaiting: queue.maxQueued, streamBatch: this.streamBatch },
          })
          .catch((err: Error) => {
            throw new Error(`${dir}: the task model failed to load in its executor: ${err.message}`);
          });
      }
      const model = { name, version: manifest.version, dir, manifest, provider, graphs, executor, task: manifest.task, taskModel, inferred } as LoadedModel;
      return model;
    } catch (err) {
      await Promise.all([...inThread, ...(executor ? [executor] : [])].map((g) => g.release().catch(() => undefined)));
      throw err;
    }
  }
}

/** What `/v2/repository/index` says of a model served with an inferred manifest. */
function inferredNote(dir: string, inferred: FolderInference): string {
  const states = Object.values(inferred.manifest.graphs).flatMap((g) => g.states ?? []).length;
  return `no manifest.json: manifest inferred from ${inferred.plan.files.join(', ')} (generic${states ? `, ${states} recurrent state(s)` : ', no recurrent states'}); KServe metadata shows it in parameters.inferred_manifest; \`seqserve init ${dir}\` writes it to edit`;
}

/** Names the model folder in a loader's error (the loaders name the file inside it). */
function inModelDir<T>(dir: string, loading: Promise<T>): Promise<T> {
  return loading.catch((err: Error) => {
    throw new Error(err.message.startsWith(dir) ? err.message : `${dir}/${err.message}`);
  });
}

const MODEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Why folder `dir` (model `name`) cannot be a model, if that shows without reading its
 * manifest: an invalid name, or no manifest.json and no ONNX files that decide an inferred one
 * (ONNX files both at the top and in version folders, a Triton folder without ONNX, anything else).
 */
async function folderProblem(dir: string, name: string): Promise<string | undefined> {
  if (!MODEL_NAME.test(name)) {
    const suggestion = name
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[-_]+/, '');
    return `${dir}: "${name}" is not a model name: model names (the folder names) are lower case: letters, digits, "-" and "_"${suggestion && MODEL_NAME.test(suggestion) ? `; rename the folder to "${suggestion}" (and the manifest's name)` : ''}`;
  }
  let files: string[];
  let planned: Awaited<ReturnType<typeof planFolder>>;
  try {
    if ((await readdir(dir)).includes('manifest.json')) return undefined;
    files = await readdir(dir, { recursive: true }); // Triton keeps graphs in version folders (1/model.onnx)
    planned = await planFolder(dir); // ONNX files that decide the model: served with an inferred manifest
  } catch (err) {
    return `${dir}: ${(err as Error).message}`;
  }
  const help = 'write one: see "Serving your own PyTorch model" in the README (a minimal generic manifest), and docs/manifest.schema.json';
  if (planned && 'plan' in planned) return undefined;
  if (planned)
    return `${dir}/manifest.json: file not found, and no manifest can be inferred: ${planned.problem}: ${help} (\`seqserve init ${dir}/<file>.onnx\` writes one for a file)`;
  if (files.includes('config.pbtxt'))
    return `${dir}/manifest.json: file not found: this is a Triton model folder (config.pbtxt); seqserve reads manifest.json, not config.pbtxt: ${help}`;
  return `${dir}/manifest.json: file not found: a model folder needs one: ${help}`;
}

/**
 * The load failure of a warm-up run: the graph, ONNX Runtime's first line, the shapes fed, and how
 * to give the graph shapes it can run (`graphs.<name>.warmupShapes`).
 */
function warmUpFailure(file: string, manifestPath: string, graphName: string, inputs: readonly TensorInfo[], shapes: Record<string, number[]>, err: Error, where: string): string {
  const fed = inputs.map((t) => `${t.name} [${(shapes[t.name] ?? t.shape.map((d) => (d < 0 ? 1 : d))).join(', ')}]`).join(', ');
  const input = inputs.find((t) => t.shape.some((d) => d < 0)) ?? inputs[0];
  const example = input ? `{"${input.name}": [${input.shape.map((d, i) => (d >= 0 ? d : i === 0 ? 1 : 16)).join(', ')}]}` : '{"input": [1, 16]}';
  return (
    `${file}: warm-up run of graph "${graphName}"${where} failed: ${err.message.split('\n')[0].trim()} — ` +
    `it was fed zeros of shapes ${fed} (1 for every variable dimension unless warmupShapes says otherwise); ` +
    `if the graph needs other shapes, set graphs.${graphName}.warmupShapes in ${manifestPath}, e.g. "warmupShapes": ${example}`
  );
}

/** Warm-up shapes: the manifest's own, and one streaming chunk for an audio input. */
function warmupShapes(manifest: Manifest, spec: Manifest['graphs'][string]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  if (manifest.audio) shapes[manifest.audio.input] = [1, manifest.audio.contextSamples + manifest.audio.chunkSamples];
  return { ...shapes, ...spec.warmupShapes };
}

async function releaseModel(model: LoadedModel): Promise<void> {
  await Promise.all([...model.graphs.values()].map((g) => g.release()));
  await model.executor?.release();
}
