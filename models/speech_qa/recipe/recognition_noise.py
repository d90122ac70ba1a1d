"""A recognition noise model that belongs to no one recognizer, for the memory network's training text.

What recognizers do to a story sentence, drawn at a level chosen per story (a clean reading, a
voice the recognizer knows, one it hardly knows): letters dropped, substituted (vowel for vowel,
look-alike consonants), doubled, and stray spaces inside words (the letter noise of segmenter.py);
short words dropped; neighbouring words run together; and at the story level a missed sentence
boundary (two sentences heard as one) or an extra one (a sentence cut in two). It never puts another
word of the story vocabulary in a word's place: "mary went to the garden" heard as "... the kitchen"
would change the answer, and a network trained on that learns to doubt every sentence.
Training on it instead of on one recognizer's transcripts keeps the memory network independent of
the recognizer it is bundled with.
"""
import random

from segmenter import noisy_word

LEVELS = (0.0, 0.02, 0.04, 0.07, 0.1, 0.14)


def heard_sentence(text, rng, level, run_in):
    words = []
    for w in text.split():
        if len(w) <= 3 and rng.random() < level / 2:
            continue                                   # a short word not heard
        w = noisy_word(w, rng, level)
        if w:
            words.append(w)
    out = ""
    for i, w in enumerate(words):
        out += w if i == 0 or rng.random() < run_in else " " + w
    return out.strip()


class NoiseModel:
    def __init__(self, merge=0.1, split=0.05):
        self.merge, self.split = merge, split

    def story(self, example, rng):
        """The example as a recognizer might hear it: every sentence and the question through the model."""
        level = rng.choice(LEVELS)
        run_in = rng.choice((0.0, 0.05, 0.15))
        hear = lambda s: heard_sentence(s, rng, level, run_in) or s.split()[0]
        sentences = [hear(s) for s in example["sentences"]]
        if len(sentences) > 1 and rng.random() < self.merge:      # a missed boundary
            i = rng.randrange(len(sentences) - 1)
            sentences[i:i + 2] = [sentences[i] + " " + sentences[i + 1]]
        if rng.random() < self.split:                              # an extra boundary
            i = rng.randrange(len(sentences))
            words = sentences[i].split()
            if len(words) > 2:
                k = rng.randint(1, len(words) - 1)
                sentences[i:i + 1] = [" ".join(words[:k]), " ".join(words[k:])]
        return {**example, "sentences": sentences[-16:], "question": hear(example["question"])}


if __name__ == "__main__":
    from stories import stories
    model = NoiseModel()
    rng = random.Random(1)
    for e in stories(2, 5)[:8]:
        print(model.story(e, rng))
