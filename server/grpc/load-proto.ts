import path from 'node:path';
import { loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import { PROJECT_ROOT } from '../project-root.ts';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_DIR = path.join(PROJECT_ROOT, 'proto');

/** Loads .proto files from proto/ with snake_case field names and 64-bit integers as strings. */
export function loadProto(...files: string[]): GrpcObject {
  return loadPackageDefinition(loadProtoDefinition(...files));
}

/** The package definition itself (descriptors included), e.g. for server reflection. */
export function loadProtoDefinition(...files: string[]): PackageDefinition {
  return loadSync(files, { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}
