import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG, BUNDLED_MODELS_DIR, type ServerConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/start-server.ts';

type TestServer = RunningServer & { http: string; grpc: string };

/** Starts a real seqserve on ephemeral loopback ports with a silent logger. */
export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
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

/**
 * A test server of some of the bundled models only (a repository of links to their folders): each
 * model starts its own executor thread, so a file that needs two models starts in a fraction of the
 * time all of them take. Closing the server removes the links.
 */
export async function startBundledServer(models: readonly string[], overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'seqserve-bundled-'));
  for (const m of models) symlinkSync(path.join(BUNDLED_MODELS_DIR, m), path.join(root, m));
  const server = await startTestServer({ modelsDir: root, ...overrides });
  return {
    ...server,
    close: async (graceSeconds?: number) => {
      try {
        await server.close(graceSeconds);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
