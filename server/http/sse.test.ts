import { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { sseResponse } from './sse.ts';

/** Events whose next one arrives when the test says (`send`), as a model's next token would. */
function controlledEvents() {
  const pending: ((r: IteratorResult<string>) => void)[] = [];
  let returned = 0;
  const events: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]: () => events,
    next: () => new Promise((resolve) => pending.push(resolve)),
    return: () => {
      returned++;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
  const waiting = async () => {
    while (pending.length === 0) await new Promise((r) => setTimeout(r, 1));
  };
  return { events, waiting, send: (value: string) => pending.shift()!({ value, done: false }), returned: () => returned };
}

describe('sseResponse', () => {
  it('a client that leaves while an event is on its way ends the stream quietly: no error logged, closed once', async () => {
    const errors: unknown[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    const { events, waiting, send } = controlledEvents();
    let closes = 0;
    const app = new Hono().get('/s', (c) => sseResponse(c, events, { log, close: () => closes++ }));
    const res = await app.request('/s');
    const reader = res.body!.getReader();
    const first = reader.read();
    await waiting();
    send('one');
    expect(new TextDecoder().decode((await first).value)).toBe('data: one\n\n');
    const second = reader.read(); // the stream asks for the next event
    await waiting();
    await reader.cancel(); // the client goes away while it is on its way
    send('two'); // ... and it arrives after
    await second.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toEqual([]);
    expect(closes).toBe(1);
  });

  it('ends a stream whose client takes no event for stallMs, stopping its work; a client that reads in time is not cut', async () => {
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const { events, waiting, send, returned } = controlledEvents();
    let closes = 0;
    const app = new Hono().get('/s', (c) => sseResponse(c, events, { log, close: () => closes++, stallMs: 100 }));
    const reader = (await app.request('/s')).body!.getReader();
    for (const word of ['one', 'two']) {
      const read = reader.read();
      await waiting();
      send(word);
      expect(new TextDecoder().decode((await read).value)).toBe(`data: ${word}\n\n`);
      await new Promise((r) => setTimeout(r, 60)); // reads again within 100 ms: not stalled
    }
    expect(closes).toBe(0);
    // the client stops reading; the stream has asked for no more, and ends after 100 ms
    await new Promise((r) => setTimeout(r, 250));
    expect(closes).toBe(1);
    expect(returned()).toBe(1);
    expect(lines.map((l) => l.msg)).toContain('stream ended: the client took no event for too long');
    await expect(reader.read()).rejects.toThrow(/stopped reading/);
  });

  it('registers while open; ending it (shutdown) writes the error event last and stops the work', async () => {
    const { events, waiting, send, returned } = controlledEvents();
    const streams = new Set<(err: SeqserveError) => void>();
    let closes = 0;
    const app = new Hono().get('/s', (c) => sseResponse(c, events, { log: pino({ level: 'silent' }), close: () => closes++, streams }));
    const reader = (await app.request('/s')).body!.getReader();
    const first = reader.read();
    await waiting();
    send('one');
    await first;
    expect(streams.size).toBe(1);
    const pending = reader.read(); // waiting for the next event when the server shuts down
    await waiting();
    for (const end of streams) end(new SeqserveError('unavailable', 'the server is shutting down'));
    const last = new TextDecoder().decode((await pending).value);
    expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ type: 'error', error: { code: 'unavailable', message: 'the server is shutting down' } });
    expect((await reader.read()).done).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(streams.size).toBe(0);
    expect(closes).toBe(1);
    expect(returned()).toBe(1);
  });
});
