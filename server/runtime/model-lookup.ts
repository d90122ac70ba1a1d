/**
 * How a model name and a KServe graph name resolve against the repository's entries: the ready
 * model (or why it is not serving) and the graph a `model.graph` name addresses. Shared by the model
 * repository and the test stub of it, so contract tests pin the server's own answers.
 */
import { SeqserveError, notFound } from '../core/errors.ts';
import type { LoadedGraph } from './loaded-graph.ts';

/** What the lookups need of a repository entry. */
export interface LookupEntry<M extends { version: string }> {
  state: 'loading' | 'ready' | 'failed' | 'unloaded';
  reason?: string;
  model?: M;
}

/**
 * The ready model of entry `e` named `name` (optionally at `version`), or a not_found error (no such
 * model) or an `unavailable` one (the model is not serving: 503 / UNAVAILABLE on every endpoint) that says why.
 */
export function readyModel<M extends { version: string }>(name: string, e: LookupEntry<M> | undefined, version?: string): M {
  if (!e) throw notFound(`unknown model "${name}"`, 'model');
  if (e.state !== 'ready' || !e.model) {
    const why = e.state === 'failed' ? `failed to load: ${e.reason ?? 'unknown reason'}` : e.state === 'loading' ? 'is loading' : 'is unloaded (on request)';
    throw new SeqserveError('unavailable', `model "${name}" is not serving: it ${why}`, { field: 'model' });
  }
  if (version && version !== e.model.version) throw notFound(`model "${name}" has no version "${version}" (it has "${e.model.version}")`, 'version');
  return e.model;
}

/** Splits a KServe model name into the model's name and, after the first dot, the graph's. */
export function splitQualifiedName(qualifiedName: string): { model: string; graph?: string } {
  const dot = qualifiedName.indexOf('.');
  return dot < 0 ? { model: qualifiedName } : { model: qualifiedName.slice(0, dot), graph: qualifiedName.slice(dot + 1) };
}

/** The graph of `model` that `graphName` names, or its only graph when no name is given. */
export function graphOf(modelName: string, graphs: Map<string, LoadedGraph>, graphName: string | undefined): LoadedGraph {
  if (graphName === undefined) {
    if (graphs.size === 1) return [...graphs.values()][0];
    throw notFound(`model "${modelName}" has several graphs; address one of: ${[...graphs.values()].map((g) => g.qualifiedName).join(', ')}`, 'model');
  }
  const graph = graphs.get(graphName);
  if (!graph) throw notFound(`model "${modelName}" has no graph "${graphName}" (graphs: ${[...graphs.keys()].join(', ')})`, 'model');
  return graph;
}
