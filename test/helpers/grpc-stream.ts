import { credentials, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadProto } from '../../server/grpc/load-proto.ts';

/** A client stub of one of seqserve's own services (proto/seqserve/v1/*.proto). */
export function seqserveStub(protoFile: string, service: string, address: string): { stub: unknown; close(): void } {
  const pkg = loadProto(protoFile);
  const ctor = (pkg.seqserve as never as { v1: Record<string, ServiceClientConstructor> }).v1[service];
  const stub = new ctor(address, credentials.createInsecure());
  return { stub, close: () => stub.close() };
}

/** Calls a server-streaming method; resolves with every message, and the error status if it failed. */
export function serverStream<M>(stub: unknown, method: string, request: object): Promise<{ messages: M[]; error?: { code: number; details: string } }> {
  return new Promise((resolve) => {
    const messages: M[] = [];
    const call = (stub as Record<string, (r: object) => NodeJS.EventEmitter>)[method](request);
    call.on('data', (m: M) => messages.push(m));
    call.on('end', () => resolve({ messages }));
    call.on('error', (e: { code: number; details: string }) => resolve({ messages, error: e }));
  });
}
