/**
 * The demo page's spoken-QA sample (models/speech_qa/demo-sample/): one short held-out story of
 * heldout-sample.jsonl spoken as the model card's recipe spoke it (espeak-ng with the story's voice,
 * speed, pitch and recorded pauses; test/helpers/spoken-story.ts), its spoken question, and the
 * story's text, question and choices (sample.json) so the page can show what was said.
 *
 *   npx tsx models/speech_qa/recipe/demo-sample.ts [line]   # default: line 16 (3 sentences, a spoken question)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { questionWav, storyWav, type SpokenStory } from '../../../test/helpers/spoken-story.ts';

const dir = path.join(import.meta.dirname, '..');
const line = Number(process.argv[2] ?? 16);
const story = JSON.parse(readFileSync(path.join(dir, 'heldout-sample.jsonl'), 'utf8').split('\n')[line - 1]) as SpokenStory & { choices: string[]; answer: string };
const question = questionWav(story);
if (!question) throw new Error(`heldout-sample.jsonl line ${line}: the question was typed, not spoken; pick a story with question_audio`);
const out = path.join(dir, 'demo-sample');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'story.wav'), storyWav(story));
writeFileSync(path.join(out, 'question.wav'), question);
const sample = { from: `heldout-sample.jsonl line ${line}`, sentences: story.sentences, question_text: story.question_text, choices: story.choices, answer: story.answer, voice: story.voice };
writeFileSync(path.join(out, 'sample.json'), JSON.stringify(sample, null, 2) + '\n');
console.log(`wrote ${out}: ${story.sentences.join('. ')}. Q: ${story.question_text} (${story.answer})`);
