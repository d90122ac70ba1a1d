import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface SpawnedServer {
  httpPort: number;
  grpcPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts seqserve in its own process on ephemeral loopback ports (as a user would run it). */
export async function spawnServer(args: string[] = []): Promise<SpawnedServer> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'seqserve.js'), 'serve', '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--log-level', 'info', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const at = args.indexOf('--processes');
  const clustered = at >= 0 && Number(args[at + 1]) > 1;
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { httpPort?: number; grpcPort?: number; workerPids?: number[] };
        // with --processes N the primary and each worker name the ports; the primary's line with the
        // workers' pids comes once all of them are ready
        if (msg.httpPort !== undefined && msg.grpcPort !== undefined && (!clustered || msg.workerPids)) {
          clearTimeout(timer);
          resolve({ httpPort: msg.httpPort, grpcPort: msg.grpcPort });
        }
      } catch {
        /* not a log line */
      }
    });
  });
  return {
    ...ports,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
