import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts';
import type { ServerContext } from '../context.ts';
import { kserveRoutes } from '../http/routes/kserve.ts';
import { cudaProviderMissing, SessionFactory } from '../runtime/session-factory.ts';

const log = pino({ level: 'silent' });

/** The parts of a server that GET /v2 reads; nothing else is touched (no models are loaded). */
function stubContext(providers: ServerConfig['runtime']['providers']): ServerContext {
  const config = { ...DEFAULT_CONFIG, runtime: { ...DEFAULT_CONFIG.runtime, providers } };
  return { config, sessions: new SessionFactory(config.runtime, log) } as unknown as ServerContext;
}

describe('KServe server metadata', () => {
  it('GET /v2 names the configured execution providers and those that could not be loaded, with the reason', async () => {
    const missing = cudaProviderMissing(); // this machine's onnxruntime-node may or may not carry the CUDA provider
    const ctx = stubContext(['cuda', 'cpu']);
    const res = await kserveRoutes(ctx).request('/v2');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ name: 'seqserve', version: expect.any(String), extensions: expect.arrayContaining(['binary_tensor_data', 'model_repository']) });
    expect(body.execution_providers).toEqual({ configured: ['cuda', 'cpu'], unavailable: missing ? { cuda: missing } : {} });
    if (missing) expect(body.execution_providers.unavailable.cuda).toMatch(/libonnxruntime_providers_cuda\.so is not installed/);
  });
});
