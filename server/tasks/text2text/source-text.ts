/**
 * How a text2text model reads a prompt: the source token ids its encoder takes and a label per
 * position (for the attention alignment). `characters` models (g2p) read one token per character of
 * `generation.sourceVocab`, lower-cased when the manifest says so; a character outside that alphabet
 * is refused, naming it (the model never saw `<unk>` in training). `spelled-words` models read the
 * prompt as chat does. Runtime-agnostic: the page encodes prompts with the same code.
 */
import { invalidArgument, SeqserveError } from '../../core/errors.ts';
import type { GenerationSpec } from '../../core/manifest.ts';
import { readJsonFile, type ReadModelFile } from '../../core/model-files.ts';
import type { SpelledWordTokenizer } from '../../core/text/spelled-word-tokenizer.ts';

export interface SourceText {
  /** Encoder input ids. */
  ids: number[];
  /** What each source position reads (a character, a word or a spelled letter). */
  pieces: string[];
}

export interface SourceEncoder {
  /** The characters a `characters` model reads, in vocabulary order; undefined for word models. */
  readonly alphabet?: readonly string[];
  /** The prompt's source tokens; refuses (naming `field`) an empty prompt, one too long, or characters the model cannot read. */
  encode(text: string, field: string): SourceText;
}

/** The description of a character in an error: `" " (U+0020)`. */
function describeChar(c: string): string {
  const code = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(c)} (U+${code})`;
}

/** One token per character of the source vocabulary (its one-character entries). */
export class CharacterEncoder implements SourceEncoder {
  private readonly index = new Map<string, number>();
  readonly alphabet: readonly string[];

  constructor(
    vocab: readonly string[],
    private readonly maxTokens: number,
    private readonly lowercase: boolean,
  ) {
    vocab.forEach((t, i) => {
      if ([...t].length === 1 && !this.index.has(t)) this.index.set(t, i);
    });
    this.alphabet = [...this.index.keys()];
  }

  encode(text: string, field: string): SourceText {
    const chars = [...(this.lowercase ? text.trim().toLowerCase() : text.trim())];
    if (chars.length === 0) throw invalidArgument(field, 'is empty');
    const unknown = [...new Set(chars.filter((c) => !this.index.has(c)))];
    if (unknown.length > 0) {
      const space = unknown.some((c) => /\s/.test(c)) ? '; the model reads one word per prompt (send several words as an array of prompts)' : '';
      throw invalidArgument(
        field,
        `has ${unknown.length === 1 ? 'a character' : 'characters'} outside the model's alphabet: ${unknown.map(describeChar).join(', ')}${space} (the model reads ${this.alphabet.join(' ')}${this.lowercase ? ', upper case lower-cased' : ''})`,
      );
    }
    if (chars.length > this.maxTokens) throw invalidArgument(field, `is ${chars.length} characters long; the model reads at most ${this.maxTokens}`);
    return { ids: chars.map((c) => this.index.get(c)!), pieces: chars };
  }
}

/** A spelled-words model's prompt, tokenized as chat's turns are. */
export class WordEncoder implements SourceEncoder {
  constructor(
    private readonly tokenizer: SpelledWordTokenizer,
    private readonly maxTokens: number,
  ) {}

  encode(text: string, field: string): SourceText {
    const ids = this.tokenizer.encode(text);
    if (ids.length === 0) throw invalidArgument(field, text.trim() ? 'has no text the model can read' : 'is empty');
    if (ids.length > this.maxTokens) throw invalidArgument(field, `is ${ids.length} tokens long; the model reads at most ${this.maxTokens}`);
    return { ids, pieces: ids.map((t) => this.tokenizer.piece(t)) };
  }
}

/** The source encoder a manifest's generation section describes. */
export async function loadSourceEncoder(spec: GenerationSpec, read: ReadModelFile, target: SpelledWordTokenizer): Promise<SourceEncoder> {
  if (spec.tokenizer !== 'characters') return new WordEncoder(target, spec.maxSourceTokens);
  const file = spec.sourceVocab ?? spec.vocab;
  const vocab = await readJsonFile(read, file);
  if (!Array.isArray(vocab) || !vocab.every((t) => typeof t === 'string')) throw new SeqserveError('failed_precondition', `${file}: must be a JSON array of token strings`);
  const encoder = new CharacterEncoder(vocab as string[], spec.maxSourceTokens, spec.lowercase ?? false);
  if (encoder.alphabet.length === 0) throw new SeqserveError('failed_precondition', `${file}: has no one-character tokens for the characters tokenizer`);
  return encoder;
}
