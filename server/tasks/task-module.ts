/**
 * A task is a module: one folder under server/tasks/ exporting a TaskModule (the graph roles its
 * models have, the manifest sections it needs, and its loader), registered by one line in
 * registry.ts. The manifest schema, the server's model repository, the browser client and the CLI
 * all go through the registry, so adding a task touches its folder and that line.
 *
 * Runtime-agnostic (no Node imports): the browser client loads task models through the same
 * modules. What differs between the server and the page — how streaming steps of concurrent streams
 * are batched, how many sequences a generation engine decodes together — comes in as the TaskPlatform.
 */
import type { GenerationEngine } from '../core/generation/generation-engine.ts';
import type { TaskBoundsContext } from '../core/feed-check.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';
import type { ManifestBody, Manifest } from '../core/manifest.ts';
import type { ReadModelFile } from '../core/model-files.ts';

export type GenerationOptions = ConstructorParameters<typeof GenerationEngine>[1];

/** The server's or the page's way of running a task's graphs. */
export interface TaskPlatform {
  /** The step function concurrent streams of a streaming graph share (the server batches them; the page runs each alone). */
  streamStep(graph: string, runner: GraphRunner, batchAxes: Record<string, number>): (feeds: TensorMap) => Promise<TensorMap>;
  /** Options of a generation engine: rows decoded together, requests waiting, metrics hooks. */
  generation(model: string, decoderGraph: string): GenerationOptions;
}

export interface TaskLoadContext {
  manifest: Manifest;
  /** Reads a file of the model folder; its errors name the file. */
  read: ReadModelFile;
  /** A runner per graph name (on the server, each runs in the model's executor threads). */
  runners: Record<string, GraphRunner>;
  /** Each graph's input shapes, -1 for symbolic dimensions. */
  inputShapes: Record<string, Record<string, number[]>>;
  platform: TaskPlatform;
}

/** One duplex session of a task (see `TaskModule.stream`). */
export interface TaskStream<In = unknown, Out = unknown> {
  push(input: In): Promise<Out>;
  end(): Promise<Out>;
}

/** A problem with a manifest, at a path inside it. */
export interface ManifestIssue {
  path: (string | number)[];
  message: string;
}

export interface TaskModule<Name extends string = string, Model = unknown, Request = unknown, Event = unknown> {
  readonly name: Name;
  /** One line for `/v1/models` and the docs. */
  readonly description: string;
  /** The graph roles a model of this task may have (`graphs.<g>.role`). */
  readonly roles: readonly string[];
  /** What the task needs of a manifest beyond the schema (sections, a graph of each role, ...). */
  checkManifest(manifest: ManifestBody): ManifestIssue[];
  /**
   * The bounds of a graph's symbolic input axes that the task's own requests never exceed (the
   * feed check refuses longer axes from any caller, KServe included).
   */
  axisBounds?(context: TaskBoundsContext): void;
  /**
   * The task's requests and events are plain data (structured-cloneable), so the server runs its
   * calls in the model's executor threads, where the task model and its scheduling loop live beside
   * the sessions; only requests and events cross threads.
   */
  readonly runsInExecutor?: boolean;
  /**
   * What `run` would refuse at once, checked where the request arrives (the main thread) before it
   * goes to an executor, so the refusal comes before any response starts.
   */
  validate?(model: Model, request: Request): void;
  /**
   * A long-lived duplex session of the task (a live recognition stream): inputs pushed in order,
   * each answered with its outputs, and a last answer at the end. Options, inputs and outputs are
   * plain data, so in the server the session lives in the model's executor thread with its state.
   */
  readonly stream?: { open(model: Model, options: unknown): TaskStream };
  /** Builds the task's model over its graph runners. */
  load(context: TaskLoadContext): Promise<Model>;
  /**
   * Runs one request on a loaded model, transport-neutral: events as they happen, stopping when
   * `signal` aborts. Every transport calls this through the call service (server/service/).
   */
  run(model: Model, request: Request, signal: AbortSignal): AsyncIterable<Event>;
}

/** `graphs` has a graph with each of `roles`: the issues for the missing ones. */
export function requireRoles(task: string, manifest: ManifestBody, roles: readonly string[]): ManifestIssue[] {
  return roles
    .filter((role) => !Object.values(manifest.graphs).some((g) => g.role === role))
    .map((role) => ({ path: ['graphs'], message: `${task} models need a graph with role "${role}"` }));
}

/** The issue for a section the task needs, if it is missing. */
export function requireSection(task: string, manifest: ManifestBody, section: keyof ManifestBody): ManifestIssue[] {
  return manifest[section] === undefined ? [{ path: [section], message: `${task} models need a${/^[aeiou]/.test(section) ? 'n' : ''} ${section} section` }] : [];
}
