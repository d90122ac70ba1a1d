import { credentials, type Client, type ServiceError, type Metadata } from '@grpc/grpc-js';
import { loadProto } from '../../server/grpc/load-proto.ts';

type Callback = (err: ServiceError | null, res: any) => void;
type UnaryMethod = (req: object, cb: Callback) => void;

/** A grpc-js client of inference.GRPCInferenceService and grpc.health.v1.Health, promisified. */
export function kserveGrpcClient(address: string) {
  const pkg = loadProto('kserve/grpc_service.proto', 'grpc/health/v1/health.proto') as any;
  const inference = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure()) as Client & Record<string, any>;
  const health = new pkg.grpc.health.v1.Health(address, credentials.createInsecure()) as Client & Record<string, any>;
  const call = (client: Record<string, any>, method: string) => (req: object) =>
    new Promise<any>((resolve, reject) => (client[method].bind(client) as UnaryMethod)(req, (err, res) => (err ? reject(err) : resolve(res))));
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
    streamInfer: (metadata?: Metadata) => inference.ModelStreamInfer(metadata),
    close() {
      inference.close();
      health.close();
    },
  };
}
