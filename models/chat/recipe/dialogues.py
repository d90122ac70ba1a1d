"""Generated task-oriented dialogues for the ticket-booking assistant.

A simulated user speaks in many paraphrases (greetings, small talk, booking and search requests with
any subset of origin, destination and date, answers to clarifying questions, confirmations, changes,
cancellations, thanks, goodbyes); the assistant follows a fixed policy (ask for the first missing
slot, confirm, book, change, cancel), so its reply is a function of the conversation so far and
exact match is a meaningful metric. Held out for the test split: some user phrasings per act, a
quarter of the real cities, and new made-up city names.
"""
import random

from slots.recipe.corpus import CITIES, DAYS, MONTHS, ordinal, pseudo_city

ORD_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth", "twentieth", "twenty first", "twenty second", "twenty third",
             "twenty fourth", "twenty fifth", "twenty sixth", "twenty seventh", "twenty eighth",
             "twenty ninth", "thirtieth", "thirty first"]


def a_date(rng):
    d, m = rng.randint(1, 28), rng.choice(MONTHS).lower()
    return rng.choice([
        f"{m} {ordinal(d)}", f"{m} {d}", f"the {ordinal(d)} of {m}", f"{m} {ORD_WORDS[d - 1]}",
        f"the {ORD_WORDS[d - 1]} of {m}", "tomorrow", "the day after tomorrow", "today", "this weekend",
        f"next {rng.choice(DAYS).lower()}", f"this {rng.choice(DAYS).lower()}", "next week", f"{rng.choice(DAYS).lower()}",
    ])


# User phrasings per act: {o} origin, {d} destination, {t} date. Index lists below are held out.
U = {
    "greet": ["hi", "hello", "hello there", "hey", "good morning", "good afternoon", "good evening", "hi there",
              "hey there", "greetings", "morning", "yo"],
    "how": ["how are you", "how are you doing", "how is it going", "how are you today", "are you doing well"],
    "who": ["who are you", "what can you do", "what do you do", "what are you", "can you help me", "what can i ask you"],
    "weather": ["what is the weather like in {d}", "is it raining in {d}", "will it be sunny in {d}",
                "how cold is it in {d}", "tell me a joke", "what time is it", "do you like music"],
    "want": ["i need a flight", "i want to book a flight", "book me a flight", "i would like to fly somewhere",
             "can you book a ticket for me", "i need a plane ticket", "i want to travel", "help me book a trip",
             "i would like a ticket", "get me a flight please"],
    "want_d": ["i want to fly to {d}", "i need a flight to {d}", "book a flight to {d}", "i would like to go to {d}",
               "get me to {d}", "i am flying to {d}", "a ticket to {d} please", "i want to visit {d}",
               "i would like to arrive in {d}", "can i get a flight to {d}"],
    "want_o": ["i am leaving from {o}", "i need a flight from {o}", "book a flight out of {o}",
               "i want to fly from {o}", "i am departing from {o}", "a ticket from {o} please"],
    "want_od": ["i want to fly from {o} to {d}", "book a flight from {o} to {d}", "i need a ticket from {o} to {d}",
                "from {o} to {d} please", "i would like to go from {o} to {d}", "get me from {o} to {d}",
                "i am flying {o} to {d}", "can you book me from {o} to {d}"],
    "want_dt": ["i want to fly to {d} on {t}", "i need a flight to {d} {t}", "book a flight to {d} for {t}",
                "i would like to arrive in {d} on {t}", "i want to go to {d} on {t}", "get me to {d} by {t}"],
    "want_odt": ["i want to fly from {o} to {d} on {t}", "book a flight from {o} to {d} on {t}",
                 "i need a ticket from {o} to {d} for {t}", "from {o} to {d} on {t} please",
                 "i would like to leave {o} for {d} on {t}", "on {t} i want to fly from {o} to {d}",
                 "i would like to arrive in {d} from {o} on {t}", "can you get me from {o} to {d} on {t}"],
    "search_odt": ["are there any flights from {o} to {d} on {t}", "show me flights from {o} to {d} on {t}",
                   "what flights go from {o} to {d} on {t}", "find me a flight from {o} to {d} on {t}",
                   "is there a flight from {o} to {d} {t}", "search flights from {o} to {d} for {t}"],
    "ans_d": ["{d}", "to {d}", "i am going to {d}", "{d} please", "i want to go to {d}", "my destination is {d}",
              "i would like to fly to {d}", "to {d} please"],
    "ans_o": ["{o}", "from {o}", "i am leaving from {o}", "{o} please", "i will depart from {o}", "i am in {o}",
              "flying out of {o}", "from {o} please"],
    "ans_t": ["{t}", "on {t}", "{t} please", "i want to leave {t}", "i would like to travel on {t}", "how about {t}",
              "on {t} please", "let us say {t}"],
    "yes": ["yes", "yes please", "sure", "sounds good", "book it", "yes book it", "that is right", "correct",
            "perfect", "ok", "okay please do", "go ahead"],
    "no": ["no", "no thanks", "not quite", "that is wrong", "no that is not right", "wait no"],
    "chg_t": ["actually change the date to {t}", "make it {t} instead", "can we do {t} instead",
              "i would rather leave on {t}", "change it to {t}", "let us make that {t}"],
    "chg_d": ["actually i want to go to {d} instead", "change the destination to {d}", "make it {d} instead",
              "i would rather fly to {d}"],
    "cancel": ["cancel my booking", "please cancel it", "i want to cancel", "cancel the flight",
               "never mind cancel that", "forget it cancel the ticket"],
    "thanks": ["thanks", "thank you", "thanks a lot", "thank you very much", "great thanks", "cheers"],
    "bye": ["bye", "goodbye", "see you", "that is all bye", "bye bye", "have a nice day"],
}
HELD_OUT = {"greet": [11], "who": [5], "want": [9], "want_d": [8, 9], "want_od": [7], "want_odt": [6, 7],
            "search_odt": [5], "ans_d": [7], "ans_o": [7], "ans_t": [7], "yes": [11], "chg_t": [5],
            "cancel": [5], "thanks": [5], "bye": [5], "weather": [6]}

B = {
    "greet": "hello! i can help you book a flight. where would you like to go?",
    "how": "i am doing well, thank you. how can i help with your trip?",
    "who": "i am a travel assistant. i can search and book flights for you.",
    "weather": "sorry, i can only help with flights.",
    "ask_d": "where would you like to fly to?",
    "ask_o": "which city are you leaving from?",
    "ask_t": "what date would you like to travel?",
    "confirm": "a flight from {o} to {d} on {t}. shall i book it?",
    "found": "i found flights from {o} to {d} on {t}. shall i book one?",
    "booked": "done! your flight from {o} to {d} on {t} is booked. anything else?",
    "what_chg": "okay, what would you like to change?",
    "cancelled": "your flight from {o} to {d} has been cancelled. anything else?",
    "dropped": "okay, i have cancelled the request. anything else?",
    "welcome": "you are welcome! have a nice trip.",
    "bye": "goodbye! have a nice trip.",
}


def fill(text, s):
    return text.format(o=s.get("o", ""), d=s.get("d", ""), t=s.get("t", ""))


class Generator:
    def __init__(self, split, seed, held_cities):
        self.rng = random.Random(seed)
        self.test = split == "test"
        self.cities = [c.lower() for c in CITIES if (c in held_cities) == self.test]

    def user(self, act, s):
        phr = U[act]
        held = set(HELD_OUT.get(act, []))
        pool = [p for i, p in enumerate(phr) if i not in held]
        if self.test and held and self.rng.random() < 0.5:
            pool = [phr[i] for i in held]
        return fill(self.rng.choice(pool), s)

    def city(self):
        if self.rng.random() < (0.4 if self.test else 0.3):
            return pseudo_city(self.rng).lower()
        return self.rng.choice(self.cities)

    def dialogue(self):
        """A list of (user, bot) turns."""
        rng, turns = self.rng, []
        say = lambda act, s, reply, r=None: turns.append((self.user(act, s), fill(B[reply], r or s)))  # noqa: E731
        want = {"o": self.city(), "d": self.city(), "t": a_date(rng)}
        while want["d"] == want["o"]:
            want["d"] = self.city()
        if rng.random() < 0.5:
            say("greet", want, "greet")
        if rng.random() < 0.2:
            act = rng.choice(["how", "who", "weather"])
            say(act, want, act)
        known = {}
        opening = rng.choice(["want", "want_d", "want_o", "want_od", "want_dt", "want_odt", "want_odt", "search_odt"])
        known.update({k: want[k] for k in {"want": "", "want_d": "d", "want_o": "o", "want_od": "od", "want_dt": "dt",
                                            "want_odt": "odt", "search_odt": "odt"}[opening]})
        reply = self.next_question(known) or ("found" if opening == "search_odt" else "confirm")
        say(opening, want, reply, known)
        while reply.startswith("ask_"):
            slot = reply[-1]
            known[slot] = want[slot]
            if slot == "d" and "o" not in known and rng.random() < 0.3:
                act = "want_od"; known["o"] = want["o"]  # noqa: E702
            else:
                act = "ans_" + slot
            reply = self.next_question(known) or "confirm"
            say(act, want, reply, known)
        # confirmation loop: maybe change things first
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            kind = rng.random()
            if kind < 0.4:
                known["t"] = a_date(rng)
                say("chg_t", known, "confirm")
            elif kind < 0.6:
                new = self.city()
                if new != known["o"]:
                    known["d"] = new
                say("chg_d", known, "confirm")
            else:
                say("no", known, "what_chg")
                known["t"] = a_date(rng)
                say(rng.choice(["chg_t", "ans_t"]), known, "confirm")
        if rng.random() < 0.12:
            say("cancel", known, "dropped")
        else:
            say("yes", known, "booked")
            if rng.random() < 0.15:
                say("cancel", known, "cancelled")
        if rng.random() < 0.6:
            say("thanks", known, "welcome")
        if rng.random() < 0.5:
            say("bye", known, "bye")
        return turns

    @staticmethod
    def next_question(known):
        for slot in ("d", "o", "t"):
            if slot not in known:
                return "ask_" + slot
        return None


def examples(dialogues):
    """Each assistant turn with the conversation before it: (history [(role, text)], reply)."""
    out = []
    for turns in dialogues:
        history = []
        for user, bot in turns:
            history.append(("user", user))
            out.append((list(history), bot))
            history.append(("assistant", bot))
    return out


def generate(n_train, n_test, seed=11):
    held_cities = set(random.Random(1234).sample(CITIES, round(len(CITIES) * 0.25)))  # same split as the slot tagger
    g = Generator("train", seed, held_cities)
    train = [g.dialogue() for _ in range(n_train)]
    t = Generator("test", seed + 1, held_cities)
    test = [t.dialogue() for _ in range(n_test)]
    return train, test


if __name__ == "__main__":
    tr, te = generate(3, 2)
    for d in tr + te:
        for u, b in d:
            print("U:", u, "\nB:", b)
        print("--")
