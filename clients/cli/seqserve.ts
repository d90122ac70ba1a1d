/**
 * The seqserve command line: run the server, or talk to a running one over HTTP or gRPC.
 *   seqserve serve [--models DIR] [--http-port N] [--grpc-port N] ...
 *   seqserve models | health | load NAME | unload NAME
 *   seqserve init path/to/model.onnx [--force]   (writes the inferred manifest.json)
 *   seqserve slots "I would like to arrive Taipei on November 2nd"
 *   seqserve classify "Subject: FREE money" [--file mail.txt] [--attention]
 *   seqserve chat [--message "i want to fly to tokyo" ...]
 *   seqserve g2p taipei kathmandu [--beam 5] [--attention]
 *   seqserve embed-audio word.wav [more.wav ...] [--json]
 *   seqserve search-audio NAME --add doc.wav ... --query word.wav
 *   seqserve infer slots --inputs '[{"name": ..., "datatype": ..., "shape": [...], "data": [...]}]' [--grpc]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../../server/config.ts';
import { pushToward } from '../../server/core/classify/text-classifier.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import { ModelRepository } from '../../server/runtime/model-repository.ts';
import { SessionFactory } from '../../server/runtime/session-factory.ts';
import { serveMain, SERVE_USAGE } from '../../server/main.ts';
import { SeqserveGrpcClient } from '../lib/grpc-client.ts';
import { describeInit, initManifest } from './init.ts';
import { type ChatMessage, SeqserveHttpClient } from '../lib/http-client.ts';
import type { ClientTensor } from '../lib/tensors.ts';

const program = new Command('seqserve')
  .description('seqserve: an inference server for recurrent, CTC and seq2seq models (ONNX)')
  .addOption(new Option('--url <url>', 'HTTP address of a running server').env('SEQSERVE_URL').default('http://127.0.0.1:8000'))
  .addOption(new Option('--grpc-address <host:port>', 'gRPC address of a running server').env('SEQSERVE_GRPC').default('127.0.0.1:8001'))
  .addOption(new Option('--api-key <key>', 'API key sent as a Bearer token').env('SEQSERVE_API_KEY'));

const http = () => {
  const o = program.opts<{ url: string; apiKey?: string }>();
  return new SeqserveHttpClient(o.url, o.apiKey ? { apiKey: o.apiKey } : {});
};
const print = (v: unknown): void => {
  process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
};

program
  .command('serve')
  .description('start the server (flags: see `seqserve serve --help`)')
  .helpOption(false)
  .allowUnknownOption(true)
  .argument('[flags...]')
  .action(async (flags: string[]) => {
    if (flags.includes('--help') || flags.includes('-h')) print(SERVE_USAGE);
    else await serveMain(flags);
  });

program
  .command('check')
  .description('load every model of a repository folder (validate, create sessions, warm up) and report')
  .option('--models <dir>', 'model repository folder', BUNDLED_MODELS_DIR)
  .action(async (o: { models: string }) => {
    const log = createLogger('silent'); // the report below says it all, once per model
    const metrics = new Metrics();
    const repository = new ModelRepository({
      root: path.resolve(o.models),
      sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
      log,
      metrics,
      queue: DEFAULT_CONFIG.queue,
    });
    await repository.loadAll();
    const index = repository.index();
    for (const m of index) print(`${m.name.padEnd(20)} ${m.state.padEnd(9)} ${m.reason ?? m.note ?? ''}`);
    await repository.close();
    if (index.length === 0 || index.some((m) => m.state !== 'ready')) process.exitCode = 1;
  });

program
  .command('init <path>')
  .description('write the manifest.json inferred from an ONNX file (or a model folder) for editing: inputs, outputs, datatypes, variable axes, recurrent states')
  .option('--force', 'overwrite an existing manifest.json')
  .action(async (target: string, o: { force?: boolean }) => {
    const sessions = new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, createLogger('silent'));
    print(describeInit(await initManifest(target, { force: o.force ?? false, describe: (bytes) => sessions.describe(bytes) })));
  });

program
  .command('models')
  .description('list the models of the repository with their state')
  .action(async () => {
    for (const m of await http().repositoryIndex())
      print(`${m.name.padEnd(20)} ${m.state.padEnd(9)} ${m.version ? `v${m.version}` : ''}${m.reason ? `  ${m.reason}` : ''}${m.note ? `  (${m.note})` : ''}`);
  });

program
  .command('health')
  .description('liveness and readiness of the server')
  .action(async () => {
    const c = http();
    print({ live: await c.live(), ready: await c.ready().catch(() => false) });
  });

program
  .command('load <model>')
  .description('load or reload a model from the repository (the server must run with --model-control explicit; with API keys, an admin key)')
  .action(async (model: string) => print(await http().load(model)));
program
  .command('unload <model>')
  .description('unload a model (the server must run with --model-control explicit; with API keys, an admin key)')
  .action(async (model: string) => print(await http().unload(model)));
program
  .command('metadata <model>')
  .description('KServe metadata of a model graph')
  .action(async (model: string) => print(await http().modelMetadata(model)));

program
  .command('slots <text>')
  .description('slot filling: print the slots found in TEXT')
  .option('-m, --model <name>', 'slot-filling model to use')
  .option('--json', 'print the whole response as JSON')
  .action(async (text: string, o: { model?: string; json?: boolean }) => {
    const r = await http().slots(text, o.model);
    if (o.json) print(r);
    else if (r.slots.length === 0) print('(no slots)');
    else for (const s of r.slots) print(`${s.name.padEnd(22)} ${JSON.stringify(s.value).padEnd(20)} [${s.start}, ${s.end})  p=${s.confidence.toFixed(3)}`);
  });

program
  .command('g2p <words...>')
  .alias('complete')
  .description("text to text (POST /v1/completions): print each WORD's completion, e.g. its pronunciation with the g2p model")
  .option('-m, --model <name>', 'text2text model to use (default: the first ready one, g2p)')
  .option('--beam <width>', 'beam search of this width (best_of)')
  .option('-n <count>', 'the n best beams (with --beam) or samples')
  .option('--temperature <t>', 'sample at this temperature (default 0: greedy)')
  .option('--attention', 'also print the attention alignment: for each output token, the source character it attends to most')
  .option('--json', 'print the whole response as JSON')
  .action(async (words: string[], o: { model?: string; beam?: string; n?: string; temperature?: string; attention?: boolean; json?: boolean }) => {
    const choices = await http().complete(words, {
      ...(o.model ? { model: o.model } : {}),
      ...(o.beam ? { bestOf: Number(o.beam) } : {}),
      ...(o.n ? { n: Number(o.n) } : {}),
      ...(o.temperature ? { temperature: Number(o.temperature) } : {}),
      attention: o.attention ?? false,
    });
    if (o.json) return print(choices);
    const width = Math.max(...words.map((w) => w.length));
    for (const c of choices) {
      print(`${words[c.prompt].padEnd(width)}  ${c.text}`);
      if (c.attention) {
        const { source_tokens: src, output_tokens: out, weights } = c.attention;
        print(`${' '.repeat(width)}  ${out.map((t, i) => `${t}<${src[weights[i].indexOf(Math.max(...weights[i]))]}`).join(' ')}`);
      }
    }
  });

program
  .command('classify [texts...]')
  .description('text classification (POST /predict): print the labels of each TEXT (or file), best first')
  .option('-m, --model <name>', 'text-classification model to use')
  .option('-f, --file <path...>', 'read texts from files')
  .option('--truncate', 'cut texts longer than the model reads instead of refusing them')
  .option('--attention [n]', 'also print the N tokens with the most attention (default 10)')
  .option('--words [n]', 'also print the N tokens that pushed hardest toward or against the top label: their share of its logit (models with per-token logits; default 10)')
  .option('--json', 'print the whole response as JSON')
  .action(async (texts: string[], o: { model?: string; file?: string[]; truncate?: boolean; attention?: boolean | string; words?: boolean | string; json?: boolean }) => {
    const all = [...texts, ...(o.file ?? []).map((f) => readFileSync(f, 'utf8'))];
    if (all.length === 0) throw new Error('give a text or --file');
    const options = { ...(o.model ? { model: o.model } : {}), truncate: o.truncate ?? false };
    if (o.words && o.attention) throw new Error('give --words or --attention, not both');
    if (o.words) {
      const top = o.words === true ? 10 : Number(o.words);
      const r = await http().predict(all, { ...options, contributions: true });
      if (o.json) return print(r);
      r.forEach((p, i) => {
        print(`${all.length > 1 ? `[${i}] ` : ''}${p.predictions.map((x) => `${x.label} ${x.score.toFixed(4)}`).join('  ')}${p.truncated ? '  (truncated)' : ''}`);
        const best = p.predictions[0].label;
        const others = p.predictions.slice(1).map((x) => x.label);
        const ranked = p.contributions.tokens.map((t) => ({ t, v: pushToward(t.logits, best, others) })).sort((x, y) => Math.abs(y.v) - Math.abs(x.v));
        for (const { t, v } of ranked.slice(0, top)) print(`  ${v >= 0 ? '+' : '-'}${Math.abs(v).toFixed(3)}  ${JSON.stringify(t.text).padEnd(20)} [${t.start}, ${t.end})`);
      });
      return;
    }
    if (!o.attention) {
      const r = await http().predict(all, options);
      if (o.json) print(r);
      else r.forEach((p, i) => print(`${all.length > 1 ? `[${i}] ` : ''}${p.map((x) => `${x.label} ${x.score.toFixed(4)}`).join('  ')}`));
      return;
    }
    const top = o.attention === true ? 10 : Number(o.attention);
    const r = await http().predict(all, { ...options, attention: true });
    if (o.json) return print(r);
    r.forEach((p, i) => {
      print(`${all.length > 1 ? `[${i}] ` : ''}${p.predictions.map((x) => `${x.label} ${x.score.toFixed(4)}`).join('  ')}${p.truncated ? '  (truncated)' : ''}`);
      for (const a of [...p.attention].sort((x, y) => y.weight - x.weight).slice(0, top))
        print(`  ${a.weight.toFixed(3)}  ${JSON.stringify(a.text).padEnd(20)} [${a.start}, ${a.end})`);
    });
  });

program
  .command('chat')
  .description('chat with a seq2seq chat model, streaming tokens as they come (interactive unless --message)')
  .option('-m, --model <name>', 'chat model to use')
  .option('--message <text...>', 'user turns to send in order, printing each reply (no prompt)')
  .option('-t, --temperature <t>', 'sampling temperature (0 = greedy)', '0')
  .option('--seed <n>', 'sampling seed')
  .option('--max-tokens <n>', 'longest reply in tokens')
  .action(async (o: { model?: string; message?: string[]; temperature: string; seed?: string; maxTokens?: string }) => {
    const client = http();
    const options = {
      temperature: Number(o.temperature),
      ...(o.model ? { model: o.model } : {}),
      ...(o.seed ? { seed: Number(o.seed) } : {}),
      ...(o.maxTokens ? { max_tokens: Number(o.maxTokens) } : {}),
    };
    const history: ChatMessage[] = [];
    const turn = async (text: string) => {
      history.push({ role: 'user', content: text });
      let reply = '';
      for await (const e of client.chatStream(history, options)) {
        if (e.type === 'delta') {
          reply += e.text;
          process.stdout.write(e.text);
        }
      }
      process.stdout.write('\n');
      history.push({ role: 'assistant', content: reply });
    };
    if (o.message) {
      for (const m of o.message) await turn(m);
      return;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
    rl.prompt();
    for await (const line of rl) {
      if (line.trim()) await turn(line.trim());
      rl.prompt();
    }
  });

program
  .command('transcribe <wav>')
  .description('speech recognition of a WAV file (any rate, mono or stereo)')
  .option('-m, --model <name>', 'speech-recognition model to use')
  .option('--stream', 'print the text as it is recognised')
  .option('--json', 'print segments and word times as JSON')
  .action(async (file: string, o: { model?: string; stream?: boolean; json?: boolean }) => {
    const wav = new Uint8Array(readFileSync(file));
    const opts = o.model ? { model: o.model } : {};
    if (o.stream) {
      // On a terminal the utterance in progress is shown and rewritten in place; finished text stays.
      const tty = process.stdout.isTTY;
      for await (const e of http().transcribeStream(wav, opts)) {
        if (tty) {
          if (e.type === 'partial') process.stdout.write(`\r\x1b[2K… ${e.text}`);
          if (e.type === 'delta') process.stdout.write(`\r\x1b[2K${e.text.trim()}\n`);
          if (e.type === 'done') process.stdout.write('\r\x1b[2K');
        } else {
          if (e.type === 'delta') process.stdout.write(e.text);
          if (e.type === 'done') process.stdout.write('\n');
        }
      }
      return;
    }
    const r = await http().transcribe(wav, { ...opts, format: 'verbose_json' });
    print(o.json ? r : r.text);
  });

program
  .command('caption <images...>')
  .description(
    'caption an image (PNG, JPEG, WebP, GIF), or a video clip (an animated GIF or WebP, or several pictures: the frames in order, for a video caption model), streaming the words as they come',
  )
  .option('-m, --model <name>', 'caption model to use')
  .option('--json', 'print the whole response (tokens, log-probabilities, attention) as JSON')
  .option('--attention', "with --json: include the attention over image regions (or a clip's frames) per token")
  .action(async (files: string[], o: { model?: string; json?: boolean; attention?: boolean }) => {
    const pictures = files.map((f) => new Uint8Array(readFileSync(f)));
    const image = pictures.length === 1 ? pictures[0] : pictures;
    const opts = { ...(o.model ? { model: o.model } : {}), ...(o.attention ? { include_attention: true } : {}) };
    if (o.json) {
      print(await (Array.isArray(image) ? http().captionFrames(image, opts) : http().caption(image, opts)));
      return;
    }
    for await (const e of http().captionStream(image, opts)) {
      if (e.type === 'token') process.stdout.write(e.delta);
      else process.stdout.write('\n');
    }
  });

program
  .command('ocr <images...>')
  .description('read text-line images (PNG, JPEG, WebP, GIF; one line of text each): one line of output per image')
  .option('-m, --model <name>', 'text-recognition model to use')
  .option('--beam', 'CTC prefix beam search instead of the best path')
  .option('--json', "print each line's text, confidence and characters (confidence, x) as JSON")
  .action(async (files: string[], o: { model?: string; beam?: boolean; json?: boolean }) => {
    const lines = await http().ocrLines(
      files.map((f) => new Uint8Array(readFileSync(f))),
      { ...(o.model ? { model: o.model } : {}), ...(o.beam ? { decoding: 'beam' as const } : {}) },
    );
    if (o.json) print(lines);
    else for (const l of lines) process.stdout.write(`${l.text}\n`);
  });

program
  .command('vqa')
  .description('visual question answering: a question about an image (PNG, JPEG, WebP, GIF); prints the answer')
  .requiredOption('--image <file>', 'the image')
  .requiredOption('--question <text>', 'the question, e.g. "what colour is the circle?"')
  .option('-m, --model <name>', 'visual-qa model to use')
  .option('-k, --top-k <n>', 'with --json: how many answers to list', (v) => Number(v))
  .option('--json', 'print the whole answer (top answers with probabilities, attention over the image regions) as JSON')
  .action(async (o: { image: string; question: string; model?: string; topK?: number; json?: boolean }) => {
    const r = await http().vqa(new Uint8Array(readFileSync(o.image)), o.question, { ...(o.model ? { model: o.model } : {}), ...(o.topK ? { top_k: o.topK } : {}) });
    if (o.json) print(r);
    else process.stdout.write(`${r.answer}\n`);
  });

program
  .command('ask')
  .description('spoken question answering: a story (WAV), a question (text or WAV) and answer choices')
  .requiredOption('--story <wav>', 'the story, spoken (sentences separated by pauses)')
  .option('--question <text>', 'the question as text')
  .option('--question-audio <wav>', 'the question, spoken')
  .option('--choice <text...>', 'an answer choice (2-4)')
  .option('-m, --model <name>', 'speech-qa model to use')
  .option('--json', 'print the whole result (transcript, scores, memory hops) as JSON')
  .action(async (o: { story: string; question?: string; questionAudio?: string; choice?: string[]; model?: string; json?: boolean }) => {
    if (!o.question === !o.questionAudio) throw new Error('give --question or --question-audio');
    const question = o.question ? { text: o.question } : { audio: new Uint8Array(readFileSync(o.questionAudio!)) };
    const story = new Uint8Array(readFileSync(o.story));
    const opts = o.model ? { model: o.model } : {};
    if (o.json) {
      print(await http().speechQa(story, question, o.choice ?? [], opts));
      return;
    }
    for await (const e of http().speechQaStream(story, question, o.choice ?? [], opts)) {
      if (e.type === 'story.sentence') process.stdout.write(`story:    ${e.text}\n`);
      if (e.type === 'question') process.stdout.write(`question: ${e.text}\n`);
      if (e.type === 'answer.token') process.stdout.write(`answer:   ${e.token}\n`);
      if (e.type === 'result') {
        e.choices.forEach((c, i) => process.stdout.write(`${i === e.choice_index ? '→' : ' '} ${c.padEnd(24)} ${(e.choice_scores[i] * 100).toFixed(1)} %\n`));
      }
    }
  });

program
  .command('embed-audio <wav...>')
  .description('audio word2vec: a vector per WAV of a spoken word or short phrase (prints each file, its dimensions and the first values; --json for all)')
  .option('-m, --model <name>', 'audio-embedding model to use')
  .option('--json', 'print the whole response (unit vectors, embedded seconds) as JSON')
  .action(async (wavs: string[], o: { model?: string; json?: boolean }) => {
    const data = await http().audioEmbeddings(
      wavs.map((f) => new Uint8Array(readFileSync(f))),
      o.model ? { model: o.model } : {},
    );
    if (o.json) print(data);
    else
      data.forEach((d, i) => {
        const first = d.embedding.slice(0, 4).map((x) => x.toFixed(3));
        print(`${wavs[i]}  ${d.embedding.length}-d  [${first.join(', ')}, ...]  (${d.start}-${d.end} s)`);
      });
  });

program
  .command('search-audio <collection>')
  .description('spoken term search: index spoken documents (--add), then search them with a spoken query (--query); no text anywhere')
  .option('--add <wav...>', 'spoken documents to index first (ids: the file names)')
  .option('--query <wav>', 'the spoken query')
  .option('-k, --top-k <n>', 'hits to print', (v) => Number(v), 5)
  .option('-m, --model <name>', 'audio-embedding model for a new collection')
  .option('--json', 'print the hits as JSON')
  .action(async (collection: string, o: { add?: string[]; query?: string; topK: number; model?: string; json?: boolean }) => {
    if (!o.add && !o.query) throw new Error('give --add WAV... and/or --query WAV');
    const c = http();
    for (const f of o.add ?? []) {
      const d = await c.addAudioDocument(collection, new Uint8Array(readFileSync(f)), { id: path.basename(f), ...(o.model ? { model: o.model } : {}) });
      if (!o.json) print(`indexed ${d.id}: ${d.seconds} s, ${d.segments} segments`);
    }
    if (!o.query) return;
    const hits = await c.searchAudio(collection, new Uint8Array(readFileSync(o.query)), { topK: o.topK });
    if (o.json) print(hits);
    else for (const h of hits) print(`${h.score.toFixed(3)}  ${h.document_id}  ${h.start.toFixed(2)}-${h.end.toFixed(2)} s`);
  });

program
  .command('infer <model>')
  .description('KServe inference with JSON tensors [{name, datatype, shape, data}]')
  .option('--inputs <json>', 'the input tensors as a JSON array')
  .option('--file <path>', 'read the input tensors from a JSON file')
  .option('--output <name...>', 'outputs to return (default all)')
  .option('--binary', 'use the binary tensor extension over HTTP')
  .option('--grpc', 'use gRPC instead of HTTP')
  .action(async (model: string, o: { inputs?: string; file?: string; output?: string[]; binary?: boolean; grpc?: boolean }) => {
    const text = o.inputs ?? (o.file ? readFileSync(o.file, 'utf8') : undefined);
    if (!text) throw new Error('give --inputs JSON or --file PATH');
    const inputs = JSON.parse(text) as ClientTensor[];
    if (o.grpc) {
      const c = new SeqserveGrpcClient(program.opts<{ grpcAddress: string }>().grpcAddress);
      try {
        const r = await c.infer(model, inputs, o.output ? { outputs: o.output } : {});
        // the same keys as the REST answer (KServe's snake_case)
        print({ model_name: r.modelName, model_version: r.modelVersion, ...(r.id ? { id: r.id } : {}), outputs: r.outputs });
      } finally {
        c.close();
      }
      return;
    }
    print(await http().infer(model, inputs, { ...(o.output ? { outputs: o.output } : {}), binary: o.binary ?? false }));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`seqserve: ${(err as Error).message}\n`);
  process.exit(1);
});
