/**
 * gRPC server reflection: a client that has no .proto files (grpcurl, Postman, grpc_cli) lists the
 * services and fetches their descriptors from the server.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.ts';

// the descriptor extension's typings omit the message types it defines at run time
const { FileDescriptorProto } = descriptor as unknown as { FileDescriptorProto: protobuf.Type };
const require = createRequire(import.meta.url);
const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}
type ReflectionClient = Client & { ServerReflectionInfo(): ClientDuplexStream<object, ReflectionResponse> };

let server: Awaited<ReturnType<typeof startTestServer>>;
let client: ReflectionClient;

beforeAll(async () => {
  server = await startTestServer();
  const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => ReflectionClient } } };
  };
  client = new pkg.grpc.reflection.v1.ServerReflection(server.grpc, credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.close();
});

function ask(request: object): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (r: ReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

describe('gRPC server reflection', () => {
  it('lists every service the server implements', async () => {
    const r = await ask({ list_services: '' });
    const names = r.list_services_response?.service.map((s) => s.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining(['inference.GRPCInferenceService', 'grpc.health.v1.Health', 'google.cloud.speech.v1.Speech', 'seqserve.v1.Generation', 'seqserve.v1.SpeechQa']),
    );
  });

  it('serves the descriptor of a service with its methods and field numbers', async () => {
    const r = await ask({ file_containing_symbol: 'inference.GRPCInferenceService' });
    const files = (r.file_descriptor_response?.file_descriptor_proto ?? []).map(
      (b) =>
        FileDescriptorProto.decode(b) as unknown as protobuf.Message & {
          service?: { name: string; method: { name: string }[] }[];
          messageType?: { name: string; field: { name: string; number: number }[] }[];
        },
    );
    const svc = files.flatMap((f) => f.service ?? []).find((s) => s.name === 'GRPCInferenceService');
    expect(svc?.method.map((m) => m.name)).toEqual(expect.arrayContaining(['ModelInfer', 'ModelStreamInfer', 'ModelMetadata', 'ServerLive']));
    const req = files.flatMap((f) => f.messageType ?? []).find((m) => m.name === 'ModelInferRequest');
    expect(req?.field.find((f) => f.name === 'raw_input_contents')?.number).toBe(7);
  });

  it('answers NOT_FOUND in-band for an unknown symbol', async () => {
    const r = await ask({ file_containing_symbol: 'no.such.Service' });
    expect(r.error_response?.error_code).toBe(5);
  });
});
