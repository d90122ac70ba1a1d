/**
 * A typed client of seqserve's KServe v2 gRPC API (inference.GRPCInferenceService), Node only.
 * Inputs go as raw_input_contents; outputs come back decoded.
 */
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROJECT_ROOT } from '../../server/project-root.ts';
import { decodeRaw, encodeRaw, type ClientTensor } from './tensors.ts';

const PROTO_DIR = path.join(PROJECT_ROOT, 'proto');

export interface GrpcInferResult {
  modelName: string;
  modelVersion: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[]; data: (number | boolean | string)[] }[];
}

type RawResponse = {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: string[] }[];
  raw_output_contents: Uint8Array[];
};

function decodeResponse(r: RawResponse): GrpcInferResult {
  return {
    modelName: r.model_name,
    modelVersion: r.model_version,
    id: r.id,
    outputs: r.outputs.map((o, i) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(Number), data: decodeRaw(o.datatype, r.raw_output_contents[i]) })),
  };
}

export class SeqserveGrpcClient {
  private readonly stub: any;
  private readonly metadata = new Metadata();

  constructor(address: string, options: { apiKey?: string } = {}) {
    const def = loadSync('kserve/grpc_service.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = loadPackageDefinition(def) as any;
    this.stub = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure());
    if (options.apiKey) this.metadata.set('authorization', `Bearer ${options.apiKey}`);
  }

  private call<T>(method: string, request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      this.stub[method](request, this.metadata, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  async live(): Promise<boolean> {
    return (await this.call<{ live: boolean }>('ServerLive', {})).live;
  }

  async ready(): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ServerReady', {})).ready;
  }

  async modelReady(name: string, version = ''): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ModelReady', { name, version })).ready;
  }

  async modelMetadata(
    name: string,
    version = '',
  ): Promise<{
    name: string;
    versions: string[];
    platform: string;
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs: { name: string; datatype: string; shape: number[] }[];
  }> {
    const m = await this.call<any>('ModelMetadata', { name, version });
    const tensors = (ts: { name: string; datatype: string; shape: string[] }[]) => ts.map((t) => ({ ...t, shape: t.shape.map(Number) }));
    return { name: m.name, versions: m.versions, platform: m.platform, inputs: tensors(m.inputs), outputs: tensors(m.outputs) };
  }

  private request(model: string, inputs: ClientTensor[], options: { id?: string; version?: string; outputs?: string[] }): object {
    return {
      model_name: model,
      model_version: options.version ?? '',
      id: options.id ?? '',
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      outputs: (options.outputs ?? []).map((name) => ({ name })),
      raw_input_contents: inputs.map((t) => Buffer.from(encodeRaw(t.datatype, t.data))),
    };
  }

  async infer(model: string, inputs: ClientTensor[], options: { id?: string; version?: string; outputs?: string[] } = {}): Promise<GrpcInferResult> {
    return decodeResponse(await this.call<RawResponse>('ModelInfer', this.request(model, inputs, options)));
  }

  /** Sends many requests over one ModelStreamInfer stream; yields results (or errors) as they come. */
  async *streamInfer(requests: Iterable<{ model: string; inputs: ClientTensor[]; id?: string }>): AsyncGenerator<GrpcInferResult | { id: string; error: string }> {
    const call = this.stub.ModelStreamInfer(this.metadata);
    for (const r of requests) call.write(this.request(r.model, r.inputs, { id: r.id }));
    call.end();
    for await (const msg of call as AsyncIterable<{ error_message: string; infer_response: RawResponse }>) {
      yield msg.error_message ? { id: msg.infer_response?.id ?? '', error: msg.error_message } : decodeResponse(msg.infer_response);
    }
  }

  close(): void {
    this.stub.close();
  }
}
