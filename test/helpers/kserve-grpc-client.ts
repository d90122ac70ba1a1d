import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadProto } from '../../server/grpc/load-proto.ts';

type Callback = (err: ServiceError | null, res: any) => void;
type UnaryMethod = (req: object, metadata: Metadata, cb: Callback) => void;

/** A grpc-js client of inference.GRPCInferenceService and grpc.health.v1.Health, promisified; `apiKey` goes out as `authorization: Bearer` metadata. */
export function kserveGrpcClient(address: string, apiKey?: string) {
  const metadata = () => {
    const m = new Metadata();
    if (apiKey) m.set('authorization', `Bearer ${apiKey}`);
    return m;
  };
  const pkg = loadProto('kserve/grpc_service.proto', 'grpc/health/v1/health.proto') as any;
  const inference = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure()) as Client & Record<string, any>;
  const health = new pkg.grpc.health.v1.Health(address, credentials.createInsecure()) as Client & Record<string, any>;
  const call = (client: Record<string, any>, method: string) => (req: object) =>
    new Promise<any>((resolve, reject) => (client[method].bind(client) as UnaryMethod)(req, metadata(), (err, res) => (err ? reject(err) : resolve(res))));
  return {
    inference,
    health,
    serverLive: call(inference, 'ServerLive'),
    serverReady: call(inference, 'ServerReady'),
    modelReady: call(inference, 'ModelReady'),
    serverMetadata: call(inference, 'ServerMetadata'),
    modelMetadata: call(inference, 'ModelMetadata'),
    modelInfer: call(inference, 'ModelInfer'),
    healthCheck: call(health, 'Check'),
    streamInfer: (m?: Metadata) => inference.ModelStreamInfer(m ?? metadata()),
    close() {
      inference.close();
      health.close();
    },
  };
}
