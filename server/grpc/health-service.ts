/** `grpc.health.v1.Health`: SERVING while the server is ready; per-service names are known services. */
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerContext } from '../context.ts';
import { notFound } from '../core/errors.ts';
import { grpcError } from './grpc-status.ts';

export const KNOWN_SERVICES = new Set(['', 'inference.GRPCInferenceService', 'grpc.health.v1.Health', 'google.cloud.speech.v1.Speech']);

function statusOf(ctx: ServerContext, service: string): string {
  if (!KNOWN_SERVICES.has(service)) return 'SERVICE_UNKNOWN';
  return ctx.ready() ? 'SERVING' : 'NOT_SERVING';
}

export function healthService(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Check: (call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) => {
      const service = call.request.service ?? '';
      if (!KNOWN_SERVICES.has(service)) return callback(grpcError(notFound(`unknown service "${service}"`), ctx.log));
      return callback(null, { status: statusOf(ctx, service) });
    },
    Watch: (call: ServerWritableStream<{ service: string }, unknown>) => {
      const service = call.request.service ?? '';
      let last = statusOf(ctx, service);
      call.write({ status: last });
      const timer = setInterval(() => {
        const now = statusOf(ctx, service);
        if (now !== last) call.write({ status: (last = now) });
      }, 1000);
      call.on('cancelled', () => clearInterval(timer));
      call.on('close', () => clearInterval(timer));
    },
  };
}
