import { ReflectionService } from '@grpc/reflection';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import type { ServerContext, StreamEnder } from '../context.ts';
import { grpcError } from './grpc-status.ts';
import { healthService } from './health-service.ts';
import { kserveService } from './kserve-service.ts';
import { loadProtoDefinition } from './load-proto.ts';
import { malformedMessageInterceptor, tolerantDeserializers } from './malformed-messages.ts';
import { ApiKeys } from '../security/api-keys.ts';
import { TASK_ENDPOINTS } from '../service/task-endpoint-list.ts';
import { grpcAuthInterceptor } from '../security/grpc-auth.ts';

export interface GrpcHandle {
  port: number;
  /** Refuses new calls, lets running ones finish for up to `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
  /** Cancels every call still running now. */
  forceShutdown(): void;
}

function service(pkg: GrpcObject, dotted: string): { service: ServiceDefinition } {
  const found = dotted.split('.').reduce<unknown>((o, k) => (o as GrpcObject)[k], pkg) as ServiceClientConstructor;
  return { service: tolerantDeserializers(found.service) };
}

/**
 * A service's streaming methods (server and bidirectional streams) registered in `streams` while
 * open, each as a function that ends it with a status (grpc-js writes a stream's `error` event as its
 * status): shutdown ends them with UNAVAILABLE, which clients retry, before the server's force
 * shutdown would end them as CANCELLED, which they do not.
 */
function trackStreams(definition: ServiceDefinition, impl: UntypedServiceImplementation, ctx: ServerContext): UntypedServiceImplementation {
  const streams = ctx.openStreams;
  if (!streams) return impl;
  const tracked: UntypedServiceImplementation = { ...impl };
  for (const [name, method] of Object.entries(definition)) {
    const handler = impl[name] as ((call: EventEmitter & { emit(e: 'error', err: unknown): boolean }) => unknown) | undefined;
    if (!method.responseStream || !handler) continue;
    tracked[name] = ((call: EventEmitter) => {
      const end: StreamEnder = (err) => call.emit('error', grpcError(err, ctx.log));
      streams.add(end);
      const done = () => streams.delete(end);
      for (const e of ['finish', 'close', 'cancelled', 'error']) call.once(e, done);
      return handler(call as never);
    }) as never;
  }
  return tracked;
}

export async function startGrpcServer(ctx: ServerContext, host: string, port: number): Promise<GrpcHandle> {
  const tasks = TASK_ENDPOINTS.flatMap(({ endpoints }) => (endpoints.grpc ? [endpoints.grpc] : []));
  const definition = loadProtoDefinition('kserve/grpc_service.proto', 'grpc/health/v1/health.proto', ...new Set(tasks.flatMap((t) => t.protos)));
  const pkg = loadPackageDefinition(definition);
  const server = new Server({
    'grpc.max_receive_message_length': ctx.config.limits.maxBodyBytes,
    'grpc.max_send_message_length': ctx.config.limits.maxBodyBytes,
    interceptors: [grpcAuthInterceptor(new ApiKeys(ctx.config.apiKeys)), malformedMessageInterceptor],
  });
  const add = (name: string, impl: UntypedServiceImplementation) => {
    const definition = service(pkg, name).service;
    server.addService(definition, trackStreams(definition, impl, ctx));
  };
  add('inference.GRPCInferenceService', kserveService(ctx));
  add('grpc.health.v1.Health', healthService(ctx));
  // each task's methods, by service: tasks may share one (chat and caption each give a method of seqserve.v1.Generation)
  const methods = new Map<string, UntypedServiceImplementation>();
  for (const t of tasks) for (const [name, impl] of Object.entries(t.services(ctx))) methods.set(name, { ...methods.get(name), ...impl });
  for (const [name, impl] of methods) add(name, impl);
  // grpc.reflection v1 and v1alpha: grpcurl and similar tools list and call the services without the .proto files
  new ReflectionService(definition).addToServer(server);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    forceShutdown: () => server.forceShutdown(),
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
