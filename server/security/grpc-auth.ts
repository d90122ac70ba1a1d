/**
 * API keys on gRPC: a server interceptor reads the `authorization` metadata (`Bearer <key>`) before
 * any handler runs; health checks (grpc.health.v1, KServe ServerLive/ServerReady) stay open.
 */
import { ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { ApiKeys } from './api-keys.ts';

const OPEN_METHODS = new Set([
  '/grpc.health.v1.Health/Check',
  '/grpc.health.v1.Health/Watch',
  '/inference.GRPCInferenceService/ServerLive',
  '/inference.GRPCInferenceService/ServerReady',
]);

export function grpcAuthInterceptor(keys: ApiKeys): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              if (!keys.enabled || OPEN_METHODS.has(method.path)) return pass(metadata);
              const value = metadata.get('authorization')[0];
              try {
                keys.check(typeof value === 'string' ? value : undefined);
              } catch (err) {
                call.sendStatus({ code: status.UNAUTHENTICATED, details: (err as Error).message });
                return;
              }
              pass(metadata);
            })
            .build(),
        );
      },
    });
}
