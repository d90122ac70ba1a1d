/**
 * What a task serves beyond KServe: its HTTP routes, their OpenAPI description and its gRPC
 * methods. A task's endpoints live in its own folder, `server/tasks/<task>/server/endpoints.ts`
 * (server code beside the task's runtime-agnostic module, never bundled for the browser), which
 * exports `endpoints: TaskEndpoints`. The server finds them through the one task registry
 * (task-endpoint-list.ts), so adding a task stays a folder plus the registry's line.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Hono } from 'hono';
import type { Limits } from '../config.ts';
import type { ServerContext } from '../context.ts';
import type { TaskOpenApi } from '../http/openapi/operation.ts';
import type { LoadedModel } from '../runtime/model-repository.ts';

export interface TaskGrpc {
  /** Proto files (under proto/) defining the services. */
  protos: string[];
  /** Method implementations by fully qualified service name; tasks may share a service, each giving its own methods. */
  services(ctx: ServerContext): Record<string, UntypedServiceImplementation>;
}

/**
 * Triton's generate extension for a task's models (`POST /v2/models/{m}/generate` and
 * `generate_stream`): checks `text_input` and `parameters` (refusals name `text_input` or
 * `parameters.<name>`) and returns the work, run later through the call service, as text deltas.
 */
export type TaskGenerate = (
  ctx: ServerContext,
  model: LoadedModel,
  textInput: string,
  parameters: Record<string, unknown>,
) => Promise<(signal: AbortSignal) => AsyncIterable<string>>;

/** A BYTES tensor of a task model's KServe interface: one element per item of a batch. */
export interface TaskTensor {
  name: string;
  description: string;
  /** A file (image, audio): its elements reach `infer` as base64 text whether sent as text or as the file's bytes. */
  file?: boolean;
  /** An output of numbers (an embedding per item): `infer` gives one Float32Array per item, all of one length, sent as [items, length] FP32. Default BYTES. */
  datatype?: 'BYTES' | 'FP32';
}

/**
 * A model-level KServe interface for a task model with several graphs (`chat`, `caption`: their
 * graphs stay addressable as `model.graph`): BYTES inputs in, BYTES outputs out, one element per
 * item, so a KServe client that lists the repository can ask every model for metadata and infer.
 * A task with `generate` and no `kserve` gets `text_input` → `text_output` over its generate.
 */
export interface TaskKServe {
  inputs: TaskTensor[];
  outputs: TaskTensor[];
  /** Every output's elements for the inputs' (as many as the inputs have; an FP32 output's a vector per item); `parameters` are the request's, refused naming `parameters.<name>`. */
  infer(
    ctx: ServerContext,
    model: LoadedModel,
    inputs: Record<string, string[]>,
    parameters: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, string[] | Float32Array[]>>;
}

export interface TaskEndpoints {
  /** The task's HTTP routes, mounted at `/` after the server's middleware (CORS, auth, deadlines, request ids). */
  http?(ctx: ServerContext): Hono;
  /** The OpenAPI description of those routes; test/openapi.test.ts fails on a route without one. */
  openapi?(limits: Limits): TaskOpenApi;
  grpc?: TaskGrpc;
  generate?: TaskGenerate;
  kserve?: TaskKServe;
  /** Path prefixes of the task's OpenAI-compatible routes (and its own that follow them): their errors take OpenAI's shape, `{"error": {message, type, param, code}}`. */
  openAiErrorPaths?: string[];
}
