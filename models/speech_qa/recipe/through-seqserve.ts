/**
 * The spoken-QA recipe's link to the server: starts seqserve in-process on loopback with a model
 * repository and sends audio through its public HTTP API, so training and evaluation hear exactly
 * what users' requests hear.
 *
 *   node --import tsx through-seqserve.ts transcribe --models DIR --list clips.jsonl --out out.jsonl
 *     each line {file} → {file, text}: /v1/audio/transcriptions of the WAV
 *   node --import tsx through-seqserve.ts ask --models DIR --list stories.jsonl --out out.jsonl
 *     each line {story_file, question | question_file, choices} → the /v1/speech-qa response
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SeqserveHttpClient } from '../../../clients/lib/http-client.ts';
import { DEFAULT_CONFIG } from '../../../server/config.ts';
import { createLogger } from '../../../server/observability/logger.ts';
import { startServer } from '../../../server/start-server.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { models: { type: 'string' }, list: { type: 'string' }, out: { type: 'string' }, concurrency: { type: 'string', default: '4' } },
});
const [mode] = positionals;
if (!values.models || !values.list || !values.out || (mode !== 'transcribe' && mode !== 'ask')) {
  console.error('usage: through-seqserve.ts transcribe|ask --models DIR --list FILE.jsonl --out FILE.jsonl');
  process.exit(2);
}
const dir = path.dirname(values.list);
const items = readFileSync(values.list, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const server = await startServer({ ...DEFAULT_CONFIG, modelsDir: values.models, host: '127.0.0.1', httpPort: 0, grpcPort: 0, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] } }, createLogger('warn'));
const client = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
const wav = (file: unknown) => new Uint8Array(readFileSync(path.join(dir, String(file))));

async function handle(item: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (mode === 'transcribe') return { file: item.file, text: (await client.transcribe(wav(item.file), { format: 'json' })).text };
  const question = item.question_file ? { audio: wav(item.question_file) } : { text: String(item.question) };
  return { ...item, result: await client.speechQa(wav(item.story_file), question, item.choices as string[]) };
}

const results: Record<string, unknown>[] = new Array(items.length);
let next = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await handle(items[i]);
      if ((i + 1) % 500 === 0) console.log(`${mode}: ${i + 1}/${items.length} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }),
);
writeFileSync(values.out, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
await server.close();
