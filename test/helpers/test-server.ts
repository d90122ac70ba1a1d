import { pino } from 'pino';
import { DEFAULT_CONFIG, BUNDLED_MODELS_DIR, type ServerConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/start-server.ts';

/** Starts a real seqserve on ephemeral loopback ports with a silent logger. */
export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer & { http: string; grpc: string }> {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    modelsDir: BUNDLED_MODELS_DIR,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] },
    ...overrides,
  };
  const server = await startServer(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  return { ...server, http: `http://127.0.0.1:${server.httpPort}`, grpc: `127.0.0.1:${server.grpcPort}` };
}
