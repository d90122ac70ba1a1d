/**
 * A ServerContext with no model files and no ONNX Runtime session: the configuration
 * (DEFAULT_CONFIG with overrides), a real Admission and Metrics, a silent logger, and a stub
 * repository holding fake task models (test/helpers/fake-task-models.ts). Route contract tests call
 * `createApp(stub.ctx).request(...)` over it, without sockets.
 *
 * The stub repository does what the routes call — model(), readyModels(), graph(), list(), index(),
 * status(), load(), unload(), root, folderOf() — and answers errors as ModelRepository documents them: an
 * unknown model is not_found naming `model`, a model that is not serving (failed, loading, unloaded)
 * is `unavailable` naming `model`, an unknown version is not_found naming `version`.
 */
import path from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Limits, type ServerConfig } from '../../server/config.ts';
import type { ServerContext } from '../../server/context.ts';
import { SeqserveError, notFound } from '../../server/core/errors.ts';
import type { Manifest } from '../../server/core/manifest.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import { Admission } from '../../server/runtime/admission.ts';
import { graphOf, readyModel, splitQualifiedName } from '../../server/runtime/model-lookup.ts';
import type { LoadedGraph } from '../../server/runtime/loaded-graph.ts';
import type { LoadedModel, ModelRepository, ModelState, ModelStatus } from '../../server/runtime/model-repository.ts';
import type { SessionFactory } from '../../server/runtime/session-factory.ts';
import type { TaskModelOf, TaskName } from '../../server/tasks/registry.ts';
import { fakeLoadedGraph, type FakeGraph } from './fake-task-models.ts';

interface StubModelBase {
  name: string;
  version?: string;
  /** KServe graphs by name (each addressed as `model.graph`). */
  graphs?: Record<string, FakeGraph>;
  /**
   * `ready` (the default), `failed` / `loading` / `unloaded` (known, not serving), or `folder`: a
   * folder added after start-up, listed by the index as unloaded until it is loaded.
   */
  state?: ModelState | 'folder';
  /** Why a failed model failed. */
  reason?: string;
  /** The manifest's `knows` (what the model knows, by category). */
  knows?: Record<string, string[]>;
  /** load() fails with this reason (a bad manifest on disk). */
  loadError?: string;
}

/** A model of the stub repository: a task and the fake model that task's routes call. */
export type StubModel = { [T in TaskName]: StubModelBase & { task: T; taskModel: TaskModelOf<T> } }[TaskName];

interface Entry {
  spec: StubModel;
  state: ModelState;
  reason?: string;
  model?: LoadedModel;
}

type RepositoryApi = Pick<ModelRepository, 'root' | 'folderOf' | 'model' | 'readyModels' | 'graph' | 'index' | 'list' | 'status' | 'load' | 'unload'>;

export class StubRepository implements RepositoryApi {
  private readonly entries = new Map<string, Entry>();
  private readonly folders = new Map<string, StubModel>();

  constructor(
    readonly root: string,
    models: readonly StubModel[],
    private readonly metrics: Metrics,
  ) {
    for (const spec of models) {
      this.folders.set(spec.name, spec);
      if (spec.state === 'folder') continue;
      const state = spec.state ?? 'ready';
      this.entries.set(spec.name, { spec, state, ...(spec.reason ? { reason: spec.reason } : {}), ...(state === 'ready' ? { model: this.build(spec) } : {}) });
      this.metrics.modelReady.set({ model: spec.name }, state === 'ready' ? 1 : 0);
    }
  }

  private build(spec: StubModel): LoadedModel {
    const version = spec.version ?? '1';
    const graphs = new Map<string, LoadedGraph>(Object.entries(spec.graphs ?? {}).map(([g, fake]) => [g, fakeLoadedGraph(spec.name, g, fake, this.metrics)]));
    const manifest = {
      name: spec.name,
      version,
      task: spec.task,
      description: '',
      ...(spec.knows ? { knows: spec.knows } : {}),
      graphs: Object.fromEntries([...graphs.values()].map((g) => [g.name, g.spec])),
    } as Manifest;
    return {
      name: spec.name,
      version,
      dir: path.join(this.root, spec.name),
      manifest,
      provider: 'cpu',
      graphs,
      workers: [],
      task: spec.task,
      taskModel: spec.taskModel,
    } as LoadedModel;
  }

  private statusOf(name: string, e: Entry): ModelStatus {
    const reason = e.reason ?? (e.state === 'unloaded' ? 'unloaded on request' : undefined);
    return { name, version: e.model?.version ?? '', state: e.state, ...(reason ? { reason } : {}) };
  }

  index(): ModelStatus[] {
    return [...this.entries].map(([name, e]) => this.statusOf(name, e)).sort((a, b) => a.name.localeCompare(b.name));
  }

  list(): Promise<ModelStatus[]> {
    const added = [...this.folders.keys()]
      .filter((n) => !this.entries.has(n))
      .map((name): ModelStatus => ({ name, version: '', state: 'unloaded', reason: 'added after start-up: not loaded yet' }));
    return Promise.resolve([...this.index(), ...added].sort((a, b) => a.name.localeCompare(b.name)));
  }

  status(name: string): ModelStatus {
    const e = this.entries.get(name);
    if (!e) throw notFound(`unknown model "${name}"`, 'model');
    return this.statusOf(name, e);
  }

  readyModels(): LoadedModel[] {
    return [...this.entries.values()].flatMap((e) => (e.state === 'ready' && e.model ? [e.model] : []));
  }

  model(name: string, version?: string): LoadedModel {
    return readyModel(name, this.entries.get(name), version);
  }

  graph(qualifiedName: string, version?: string): LoadedGraph {
    const { model: modelName, graph } = splitQualifiedName(qualifiedName);
    return graphOf(modelName, this.model(modelName, version).graphs, graph);
  }

  /** A model's folder: the sub-folder of the root named after it (the stub has no single-model root). */
  folderOf(name: string): Promise<string> {
    return Promise.resolve(path.join(this.root, name));
  }

  load(name: string): Promise<LoadedModel> {
    const spec = this.folders.get(name);
    if (!spec) return Promise.reject(notFound(`no model folder "${name}" in the repository ${this.root}`, 'model'));
    const entry: Entry = this.entries.get(name) ?? { spec, state: 'loading' };
    this.entries.set(name, entry);
    if (spec.loadError) {
      entry.reason = spec.loadError;
      if (!entry.model) entry.state = 'failed';
      return Promise.reject(new SeqserveError('failed_precondition', `model "${name}" failed to load: ${spec.loadError}`, { field: 'model' }));
    }
    const model = this.build(spec);
    Object.assign(entry, { model, state: 'ready', reason: undefined });
    this.metrics.modelReady.set({ model: name }, 1);
    return Promise.resolve(model);
  }

  unload(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return Promise.reject(notFound(`unknown model "${name}"`, 'model'));
    Object.assign(e, { model: undefined, state: 'unloaded', reason: undefined });
    this.metrics.modelReady.set({ model: name }, 0);
    return Promise.resolve();
  }
}

export interface StubOptions {
  /** Overrides of DEFAULT_CONFIG; `limits` are merged with the default limits. */
  config?: Partial<Omit<ServerConfig, 'limits'>> & { limits?: Partial<Limits> };
  models?: readonly StubModel[];
  /** The repository's folder (only the model-file route reads it). */
  root?: string;
}

export interface Stub {
  ctx: ServerContext;
  repository: StubRepository;
  metrics: Metrics;
  admission: Admission;
  /** Readiness: false answers new work with 503 as a server shutting down does. */
  setReady(ready: boolean): void;
}

export function stubContext(options: StubOptions = {}): Stub {
  const { limits, ...rest } = options.config ?? {};
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...rest, limits: { ...DEFAULT_CONFIG.limits, ...limits } };
  const metrics = new Metrics();
  // as the server wires it (server/start-server.ts)
  const admission = new Admission(
    config.limits,
    (model, kind, open) => metrics.openWork.set({ model, kind }, open),
    (model, kind) => metrics.rejected.inc({ model, reason: `too_many_${kind}s` }),
  );
  const repository = new StubRepository(options.root ?? path.join('/nonexistent', 'seqserve-stub-models'), options.models ?? [], metrics);
  const sessions: Pick<SessionFactory, 'unavailableProviders'> = { unavailableProviders: () => ({}) };
  let ready = true;
  const ctx: ServerContext = {
    config,
    repository: repository as unknown as ModelRepository,
    sessions: sessions as SessionFactory,
    metrics,
    admission,
    log: pino({ level: 'silent' }),
    ready: () => ready,
  };
  return { ctx, repository, metrics, admission, setReady: (r) => (ready = r) };
}
