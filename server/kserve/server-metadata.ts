import { KSERVE_EXTENSIONS, SERVER_NAME, SERVER_VERSION, type ServerContext } from '../context.ts';

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
  /**
   * seqserve addition (REST only; the gRPC message has no field for it): the execution providers in
   * the configured order, and those that could not be loaded with the reason (e.g. the CUDA provider
   * library is not installed), so a server that fell back to CPU says so.
   */
  execution_providers: { configured: string[]; unavailable: Record<string, string> };
}

/** KServe server metadata (`GET /v2`, gRPC `ServerMetadata`). */
export function serverMetadata(ctx: Pick<ServerContext, 'config' | 'sessions'>): ServerMetadata {
  return {
    name: SERVER_NAME,
    version: SERVER_VERSION,
    extensions: [...KSERVE_EXTENSIONS],
    execution_providers: { configured: [...ctx.config.runtime.providers], unavailable: ctx.sessions.unavailableProviders() },
  };
}
