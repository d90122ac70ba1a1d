/**
 * A stream refused once its work has started — the generation engine's waiting list is full, which
 * only the engine (in its executor thread) knows — gets an HTTP status (429 with Retry-After and the
 * JSON error), not a 200 whose first event is the error. A text2text request waits as one entry per
 * prompt, so a 5-prompt request against a waiting list of 2 is refused every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../server/config.ts';
import { startBundledServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startBundledServer>>;

beforeAll(async () => {
  server = await startBundledServer(['g2p'], { queue: { ...DEFAULT_CONFIG.queue, maxQueued: 2 } });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

const complete = (prompt: string[], stream: boolean) =>
  fetch(`${server.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'g2p', prompt, stream }) });

describe('a stream the engine refuses', () => {
  it('is a 429 with Retry-After before any event, streaming or not; a request that fits streams as before', async () => {
    const words = ['taipei', 'phoneme', 'kathmandu', 'tokenizer', 'chatbot'];
    for (const stream of [true, false]) {
      const res = await complete(words, stream);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/waiting list is full: 2 prompts wait/);
    }
    const ok = await complete(['taipei'], true);
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toContain('"finish_reason":"stop"');
    expect(text).not.toContain('"error"');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });
});
