/**
 * Contract of `GET /metrics` and of what the call service records for HTTP calls, over a stub
 * context: Prometheus text, one `seqserve_requests_total` series per model, endpoint and outcome
 * (`ok` or the error code — `cancelled` for a client that goes away, `deadline_exceeded` past
 * `--request-timeout`), load shedding in `seqserve_rejected_total`, open work per kind, generated
 * tokens.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { jsonInit, SseReader } from '../helpers/contract-http.ts';
import { DOUBLER, FakeGenerationEngine } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}) {
  const chat = new FakeGenerationEngine();
  const stub = stubContext({
    config,
    models: [
      { name: 'chat', task: 'chat', taskModel: chat.engine },
      { name: 'tensor', task: 'generic', taskModel: null, graphs: { doubler: DOUBLER } },
    ],
  });
  return { app: createApp(stub.ctx), chat, stub };
}

const hello = { messages: [{ role: 'user', content: 'hello' }] };
const X = { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] };

async function metricsText(app: ReturnType<typeof setup>['app']): Promise<string> {
  const res = await app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const series = (name: string, labels: string, value: number | string) => new RegExp(`^${name}\\{${labels.replace(/[.]/g, '\\.')}\\} ${value}$`, 'm');

describe('GET /metrics', () => {
  it('counts requests by model, endpoint and outcome; a failure under the same labels as a success', async () => {
    const { app } = setup();
    await app.request('/v1/chat/completions', jsonInit(hello));
    await (await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }))).text();
    await app.request('/v2/models/tensor/infer', jsonInit({ inputs: [X] }));
    await app.request('/v2/models/tensor/infer', jsonInit({ inputs: [{ ...X, datatype: 'INT64' }] }));
    const text = await metricsText(app);
    expect(text).toMatch(series('seqserve_requests_total', 'model="chat",endpoint="chat",outcome="ok"', 1));
    expect(text).toMatch(series('seqserve_requests_total', 'model="chat",endpoint="chat_stream",outcome="ok"', 1));
    expect(text).toMatch(series('seqserve_requests_total', 'model="tensor.doubler",endpoint="kserve_infer",outcome="ok"', 1));
    expect(text).toMatch(series('seqserve_requests_total', 'model="tensor.doubler",endpoint="kserve_infer",outcome="invalid_argument"', 1));
    expect(text).toMatch(series('seqserve_request_duration_seconds_count', 'model="chat",endpoint="chat_stream"', 1));
    expect(text).toMatch(series('seqserve_inflight_requests', 'model="chat",endpoint="chat"', 0));
    expect(text).toMatch(series('seqserve_generated_tokens_total', 'model="chat"', 4));
    expect(text).toMatch(series('seqserve_open_work', 'model="chat",kind="stream"', 0));
  });

  it('counts a refused stream in seqserve_rejected_total and shows the open one', async () => {
    const { app, chat } = setup({ limits: { maxStreamsPerModel: 1 } });
    chat.script = { tokens: ['hello', 'world'], holdAt: 1 }; // open: its first token sent (a stream's response starts with it), the next held
    const open = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect((await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }))).status).toBe(429);
    const text = await metricsText(app);
    expect(text).toMatch(series('seqserve_rejected_total', 'model="chat",reason="too_many_streams"', 1));
    expect(text).toMatch(series('seqserve_open_work', 'model="chat",kind="stream"', 1));
    await open.body?.cancel();
    expect(await metricsText(app)).toMatch(series('seqserve_open_work', 'model="chat",kind="stream"', 0));
  });

  it('counts a stream whose client goes away as cancelled, whether a read was waiting or not', async () => {
    // as @hono/node-server does when the socket closes: it aborts the request's signal with a string
    // reason, then cancels the response body
    for (const waiting of [true, false]) {
      const { app, chat, stub } = setup();
      chat.script = { tokens: ['hello', 'world'], holdAt: 1 };
      const client = new AbortController();
      const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }, {}, client.signal));
      const sse = new SseReader(res);
      await sse.next();
      await sse.next();
      const pending = waiting ? sse.next().catch(() => undefined) : undefined;
      await new Promise((r) => setTimeout(r, 5));
      client.abort('Client connection prematurely closed.');
      await pending;
      await sse.reader.cancel();
      expect(stub.admission.count('chat', 'stream')).toBe(0);
      expect(await metricsText(app)).toMatch(series('seqserve_requests_total', 'model="chat",endpoint="chat_stream",outcome="cancelled"', 1));
    }
  });

  it('counts a request that outlives --request-timeout as deadline_exceeded (its 504 already sent)', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const stub = stubContext({
      config: { limits: { requestTimeoutSeconds: 0.05 } },
      models: [{ name: 'tensor', task: 'generic', taskModel: null, graphs: { doubler: { ...DOUBLER, run: async (feeds) => (await gate, DOUBLER.run(feeds)) } } }],
    });
    const app = createApp(stub.ctx);
    const res = await app.request('/v2/models/tensor/infer', jsonInit({ inputs: [X] }));
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/longer than the server's limit of 0.05 s/) });
    await new Promise((r) => setTimeout(r, 10));
    open(); // the graph run ends after the deadline aborted the call's signal: the call ends as the signal says
    await new Promise((r) => setTimeout(r, 10));
    expect(await metricsText(app)).toMatch(series('seqserve_requests_total', 'model="tensor.doubler",endpoint="kserve_infer",outcome="deadline_exceeded"', 1));
    expect(stub.admission.count('tensor', 'request')).toBe(0);
  });
});
