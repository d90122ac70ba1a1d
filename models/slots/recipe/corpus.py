"""Generated ATIS-like corpus for slot filling in a ticket-booking system.

Sentences are assembled from a request opener and several clauses (departure city, destination,
dates, times, airline, airport, class). Every clause kind has many phrasings ("templates"); a fixed,
seeded subset of phrasings and openers, and a subset of city names, appear only in the test split.
Each sentence is a list of (text, slot-or-None) segments; tokens get BIO tags from their segment.
"""
import random

from _recipe_common.text_features import tokenize

CITIES = [
    "Taipei", "Tokyo", "Osaka", "Seoul", "Busan", "Beijing", "Shanghai", "Hong Kong", "Singapore",
    "Bangkok", "Manila", "Jakarta", "Hanoi", "Kuala Lumpur", "Sydney", "Melbourne", "Auckland",
    "Delhi", "Mumbai", "Dubai", "Doha", "Istanbul", "Cairo", "Nairobi", "Johannesburg", "Lagos",
    "London", "Paris", "Berlin", "Munich", "Frankfurt", "Madrid", "Barcelona", "Lisbon", "Rome",
    "Milan", "Vienna", "Zurich", "Geneva", "Amsterdam", "Brussels", "Copenhagen", "Stockholm",
    "Oslo", "Helsinki", "Dublin", "Edinburgh", "Prague", "Warsaw", "Budapest", "Athens",
    "New York", "Boston", "Washington", "Chicago", "Detroit", "Denver", "Dallas", "Houston",
    "Atlanta", "Miami", "Orlando", "Seattle", "Portland", "San Francisco", "Los Angeles",
    "San Diego", "Las Vegas", "Phoenix", "Salt Lake City", "Minneapolis", "Philadelphia",
    "Pittsburgh", "Baltimore", "Charlotte", "Nashville", "New Orleans", "Toronto", "Montreal",
    "Vancouver", "Calgary", "Mexico City", "Cancun", "Bogota", "Lima", "Santiago", "Buenos Aires",
    "Sao Paulo", "Rio de Janeiro", "Kaohsiung", "Taichung", "Tainan", "Hualien", "Kyoto", "Sapporo",
    "Fukuoka", "Okinawa", "Cleveland", "Columbus", "Indianapolis", "Kansas City", "St Louis",
    "Oakland", "San Jose", "Sacramento", "Honolulu", "Anchorage", "Tampa", "Raleigh", "Memphis",
    "Cincinnati", "Milwaukee", "Reykjavik", "Marrakesh", "Casablanca", "Tel Aviv", "Amman",
    "Riyadh", "Karachi", "Lahore", "Dhaka", "Kathmandu", "Colombo", "Chennai", "Bangalore",
    "Perth", "Brisbane", "Adelaide", "Wellington", "Christchurch", "Lyon", "Nice", "Marseille",
    "Hamburg", "Cologne", "Krakow", "Bucharest", "Sofia", "Belgrade", "Zagreb", "Riga", "Vilnius",
    "Tallinn", "Kiev", "Minsk", "Glasgow", "Manchester", "Birmingham", "Liverpool", "Porto",
    "Seville", "Valencia", "Naples", "Venice", "Florence", "Bologna", "Turin", "Palermo",
]
# Airports are codes or carry "airport"/"international", so a bare unseen name reads as a city.
AIRPORTS = [
    "JFK", "LGA", "EWR", "ORD", "LHR", "LGW", "NRT", "HND", "TPE", "TSA", "SIN", "ICN", "BOS",
    "IAD", "CDG", "AMS", "LAX", "SFO", "KIX", "YYZ", "ATL", "DFW", "SEA", "DEN", "MUC",
    "Newark airport", "O'Hare airport", "Heathrow airport", "Gatwick airport", "Narita airport",
    "Haneda airport", "Taoyuan airport", "Songshan airport", "Changi airport", "Incheon airport",
    "Logan airport", "Dulles airport", "Charles de Gaulle airport", "Orly airport",
    "Schiphol airport", "Midway airport", "Kansai airport", "Pearson airport",
    "Hartsfield international airport", "Denver international", "Dallas Fort Worth international",
    "Taoyuan international airport", "the airport", "the international airport",
]
AIRLINES = [
    "China Airlines", "EVA Air", "Delta", "United", "American Airlines", "Southwest", "JetBlue",
    "Alaska Airlines", "Air Canada", "British Airways", "Lufthansa", "Air France", "KLM",
    "Emirates", "Qatar Airways", "Singapore Airlines", "Cathay Pacific", "Japan Airlines",
    "ANA", "Korean Air", "Qantas", "Turkish Airlines", "Iberia", "Ryanair", "easyJet",
    "Starlux", "Air New Zealand", "Finnair", "Swiss",
]
CLASSES = ["first class", "business class", "economy", "economy class", "premium economy", "coach"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "tenth", "twentieth"]


def ordinal(n):
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def a_date(rng):
    d = rng.randint(1, 31)
    m = rng.choice(MONTHS)
    return rng.choice([
        lambda: f"{m} {ordinal(d)}", lambda: f"{m} {d}", lambda: f"{rng.choice(MONTH_ABBR)} {d}",
        lambda: f"{d} {m}", lambda: f"the {ordinal(d)} of {m}", lambda: f"{ordinal(d)} {m}",
        lambda: "tomorrow", lambda: "today", lambda: "the day after tomorrow", lambda: "tonight",
        lambda: f"next {rng.choice(DAYS)}", lambda: f"this {rng.choice(DAYS)}", lambda: rng.choice(DAYS),
        lambda: f"{rng.choice(DAYS)} {m} {ordinal(d)}", lambda: f"the {ordinal(d)}",
        lambda: "next week", lambda: "this weekend", lambda: f"{rng.randint(1, 12)}/{d}",
        lambda: f"the {rng.choice(ORDINAL_WORDS)} of {m}",
    ])()


def a_time(rng):
    h = rng.randint(1, 12)
    mm = rng.choice(["00", "15", "30", "45", "05", "20", "40", "50"])
    ap = rng.choice(["am", "pm", "a.m.", "p.m.", "in the morning", "in the evening"])
    return rng.choice([
        lambda: f"{h} {ap}", lambda: f"{h}:{mm} {ap}", lambda: f"{h}:{mm}", lambda: f"{h} o'clock",
        lambda: "noon", lambda: "midnight", lambda: "the morning", lambda: "the afternoon",
        lambda: "the evening", lambda: "early morning", lambda: "late evening", lambda: f"{h}{ap[:2]}",
        lambda: f"{rng.randint(0, 23):02d}:{mm}",
    ])()


# Clause phrasings: (slot kind, text with one {x}). Slot kinds map to ATIS slot names below.
SLOT_NAMES = {
    "from": "fromloc.city_name", "to": "toloc.city_name", "ddate": "depart_date",
    "adate": "arrive_date", "dtime": "depart_time", "atime": "arrive_time",
    "airline": "airline_name", "fromap": "fromloc.airport_name", "toap": "toloc.airport_name",
    "class": "class_type",
}
CLAUSES = {
    "from": ["from {x}", "leaving {x}", "leaving from {x}", "departing {x}", "departing from {x}",
             "out of {x}", "leave {x}", "depart from {x}", "starting in {x}", "flying out of {x}",
             "that leaves {x}", "which departs from {x}", "originating in {x}", "i am in {x}",
             "i'm currently in {x}", "going from {x}", "leave from {x}", "take off from {x}"],
    "to": ["to {x}", "arriving in {x}", "arrive {x}", "arrive in {x}", "arrive at {x}", "flying into {x}",
           "going to {x}", "heading to {x}", "flying to {x}", "landing in {x}", "get to {x}",
           "into {x}", "bound for {x}", "with destination {x}", "that arrives in {x}", "reach {x}",
           "get into {x}", "travel to {x}", "my destination is {x}", "fly into {x}", "land in {x}"],
    "ddate": ["leaving on {x}", "departing on {x}", "that leaves on {x}",
              "leave on {x}", "depart {x}", "going out {x}", "departure date {x}"],
    "adate": ["arriving on {x}", "arrive on {x}", "arrive by {x}", "that arrives {x}",
              "getting there on {x}", "landing on {x}", "to be there by {x}", "arrival on {x}",
              "reach there on {x}", "land on {x}"],
    "dtime": ["leaving at {x}", "departing at {x}", "that leaves at {x}", "take off at {x}",
              "departure time {x}", "leave around {x}"],
    "atime": ["arriving at {x}", "arriving before {x}", "that arrives by {x}", "arrive by {x}",
              "landing at {x}", "arrive around {x}", "getting in at {x}", "arrival time {x}",
              "arrive before {x}", "land by {x}"],
    "airline": ["on {x}", "with {x}", "flying {x}", "by {x}", "{x} flight", "operated by {x}",
                "on a {x} plane", "using {x}", "flying with {x}", "on a {x} flight"],
    "fromap": ["from {x}", "departing {x}", "leaving from {x}", "out of {x}"],
    "toap": ["to {x}", "arriving at {x}", "landing at {x}", "into {x}"],
    "class": ["in {x}", "{x}", "flying {x}", "a {x} seat", "with a {x} ticket"],
}
# Date and time phrasings without a verb take their role from the clause before them:
# "arrive Taipei on November 2nd" is an arrival date, "leave Taipei on November 2nd" a departure.
DATE_NEUTRAL = ["on {x}", "{x}", "for {x}"]
TIME_NEUTRAL = ["at {x}", "in {x}", "around {x}", "after {x}", "before {x}", "by {x}"]
ARRIVAL_CUES = ("arriv", "land", "reach", "get to", "get into", "fly into", "flying into", "getting there", "be there")

OPENERS = [
    "i would like to fly", "i would like a flight", "i want to fly", "i need a flight",
    "show me flights", "show me the flights", "find me a flight", "book a flight",
    "book me a ticket", "i'd like to book a flight", "list flights", "are there any flights",
    "what flights are available", "can you find a flight", "please book a trip", "give me flights",
    "i want a ticket", "get me a seat", "search for flights", "i need to travel",
    "help me find a flight", "what are the flights", "do you have flights", "reserve a flight",
    "i'm looking for a flight", "could you book me a flight", "i would like to", "i want to",
    "i need to", "please", "", "hi i need a flight", "hello can you book a ticket",
    "is there a flight", "which flights go", "we want to fly", "my family needs tickets",
]
CLOSERS = ["", "", "", "please", "thanks", "thank you", "if possible", "?", ".", "for two people",
           "one way", "round trip", "as soon as possible", "with a window seat"]

# Held-out phrasings ("templates") and openers: each keeps its role cue learnable from training
# phrasings that share its words (e.g. "arriving in {x}" is trained, "arrive in {x}" is held out).
HELD_OUT_CLAUSES = {
    "from": ["leaving from {x}", "going from {x}", "flying out of {x}"],
    "to": ["arrive in {x}", "flying into {x}", "fly into {x}"],
    "ddate": ["departing on {x}", "going out {x}"],
    "adate": ["landing on {x}", "reach there on {x}"],
    "dtime": ["departing at {x}", "take off at {x}"],
    "atime": ["landing at {x}", "land by {x}"],
    "airline": ["flying with {x}", "on a {x} flight"],
    "fromap": ["leaving from {x}"],
    "toap": ["landing at {x}"],
    "class": ["with a {x} ticket"],
}
HELD_OUT_OPENERS = ["i want a ticket", "what are the flights", "i would like a flight", "show me the flights",
                    "get me a seat"]
TEST_FRACTION_CITIES = 0.25


def split_templates(seed=1234):
    """Held-out clause phrasings and openers (fixed lists) and cities (seeded sample)."""
    rng = random.Random(seed)
    held = {k: {CLAUSES[k].index(p) for p in phr} for k, phr in HELD_OUT_CLAUSES.items()}
    openers = {OPENERS.index(o) for o in HELD_OUT_OPENERS}
    cities = set(rng.sample(CITIES, round(len(CITIES) * TEST_FRACTION_CITIES)))
    return held, openers, cities


SYLLABLES = ["ka", "lo", "ri", "vin", "ton", "ber", "sa", "mar", "del", "go", "na", "qu", "zel", "por",
             "ha", "ven", "li", "mo", "tra", "chi", "an", "dor", "es", "ku", "wa", "ly", "sten", "ov", "bu",
             "rin", "ta", "pel", "ya", "nor", "cas", "fi", "jo", "ul", "ri", "em"]
NAME_PATTERNS = ["{a}", "{a}", "{a}", "{a} {b}", "San {a}", "{a} City", "Port {a}", "{a} de {b}", "New {a}",
                 "Saint {a}", "{a} Beach", "Las {a}", "{a} {b} {c}"]


def pseudo_city(rng):
    """A made-up place name, so the tagger learns city slots from context, not a list."""
    word = lambda: "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()  # noqa: E731
    return rng.choice(NAME_PATTERNS).format(a=word(), b=word(), c=word())


def make_sentence(rng, split, held, held_openers, held_cities):
    test = split == "test"

    def pick_phrase(kind):
        phr = CLAUSES[kind]
        if kind == "to" and rng.random() < 0.4:  # arrival verbs decide the role of later dates
            phr = [p for p in phr if any(c in p for c in ARRIVAL_CUES)]
        pool = [p for i, p in enumerate(phr) if (i in held[kind]) == test] if test else \
            [p for i, p in enumerate(phr) if i not in held[kind]]
        if test and rng.random() < 0.5:  # test sentences mix held-out and ordinary phrasings
            pool = phr
        return rng.choice(pool)

    city_pool = [c for c in CITIES if (c in held_cities) == test]
    city = lambda: pseudo_city(rng) if not test and rng.random() < 0.3 else rng.choice(city_pool)  # noqa: E731
    value = {
        "from": city, "to": city,
        "ddate": lambda: a_date(rng), "adate": lambda: a_date(rng), "dtime": lambda: a_time(rng),
        "atime": lambda: a_time(rng), "airline": lambda: rng.choice(AIRLINES),
        "fromap": lambda: rng.choice(AIRPORTS), "toap": lambda: rng.choice(AIRPORTS),
        "class": lambda: rng.choice(CLASSES),
    }
    kinds = []
    r = rng.random()
    if r < 0.15:
        kinds = [rng.choice(["to", "from"]), rng.choice(["adate", "ddate", "atime", "dtime"])]
    else:
        kinds = [k for k, p in (("from", 0.75), ("to", 0.85)) if rng.random() < p]
        kinds += [rng.choice(["ddate", "adate"])] if rng.random() < 0.7 else []
        kinds += [rng.choice(["dtime", "atime"])] if rng.random() < 0.45 else []
        kinds += ["airline"] if rng.random() < 0.2 else []
        kinds += ["class"] if rng.random() < 0.15 else []
        if rng.random() < 0.12:
            kinds = [("fromap" if k == "from" else "toap" if k == "to" else k) for k in kinds]
        if not kinds:
            kinds = ["to"]
    rng.shuffle(kinds)
    # Clauses that lead with a verb read best first; keep order mostly natural.
    if "from" in kinds and "to" in kinds and rng.random() < 0.7:
        kinds.remove("from"); kinds.insert(0, "from")
    # Often a date or time directly follows the place it belongs to ("arrive Taipei on November 2nd").
    places = [k for k in kinds if k in ("from", "to", "fromap", "toap")]
    for when in [k for k in kinds if k in ("ddate", "adate", "dtime", "atime")]:
        if places and rng.random() < 0.6:
            kinds.remove(when)
            kinds.insert(kinds.index(rng.choice(places)) + 1, when)
    used = set()
    segments = []
    arrival = False  # whether the last verb in the sentence is about arriving
    openers = [o for i, o in enumerate(OPENERS) if (i in held_openers) == test] if test else \
        [o for i, o in enumerate(OPENERS) if i not in held_openers]
    opener = rng.choice(openers if not test or rng.random() < 0.6 else OPENERS)
    if opener:
        segments.append((opener, None))
    for k in kinds:
        phrase = pick_phrase(k)
        if k in ("ddate", "adate", "dtime", "atime") and rng.random() < 0.5:
            phrase = rng.choice(DATE_NEUTRAL if k.endswith("date") else TIME_NEUTRAL)
            k = ("a" if arrival else "d") + k[1:]
        elif k in ("from", "to", "fromap", "toap", "ddate", "adate", "dtime", "atime"):
            arrival = any(c in phrase for c in ARRIVAL_CUES)
        v = value[k]()
        while k in ("from", "to") and v in used:
            v = value[k]()
        used.add(v)
        before, after = phrase.split("{x}")
        if before.strip():
            segments.append((before.strip(), None))
        segments.append((v, SLOT_NAMES[k]))
        if after.strip():
            segments.append((after.strip(), None))
    closer = rng.choice(CLOSERS)
    if closer:
        segments.append((closer, None))
    # Random casing: users type lower case, Title Case names, or sentence case.
    style = rng.random()
    out = []
    for i, (text, slot) in enumerate(segments):
        if style < 0.3:
            text = text.lower()
        elif i == 0 and style > 0.8:
            text = text[:1].upper() + text[1:]
        out.append((text, slot))
    return out


def to_example(segments):
    text, tokens, tags = "", [], []
    for seg, slot in segments:
        if text and not (len(seg) == 1 and seg in "?."):
            text += " "
        for j, (tok, _, _) in enumerate(tokenize(seg)):
            tokens.append(tok)
            tags.append("O" if slot is None else ("B-" if j == 0 else "I-") + slot)
        text += seg
    return {"text": text, "tokens": tokens, "tags": tags}


def unseen_words(train, held, held_openers):
    """Words of held-out phrasings/openers that training never shows (should be none)."""
    seen = {t.lower() for e in train for t in e["tokens"]}
    texts = [CLAUSES[k][i] for k, idx in held.items() for i in idx] + [OPENERS[i] for i in held_openers]
    return sorted({w for t in texts for w, _, _ in tokenize(t.replace("{x}", "")) if w.lower() not in seen})


def generate(n_train, n_test, seed=7):
    held, held_openers, held_cities = split_templates()
    rng = random.Random(seed)
    train = [to_example(make_sentence(rng, "train", held, held_openers, held_cities)) for _ in range(n_train)]
    missing = unseen_words(train, held, held_openers)
    if missing and n_train >= 5000:
        print(f"warning: held-out templates use words training never shows: {missing}", flush=True)
    test = [to_example(make_sentence(rng, "test", held, held_openers, held_cities)) for _ in range(n_test)]
    # The lecture's sentences are always in the test split.
    lecture = [
        [("I would like to arrive", None), ("Taipei", "toloc.city_name"), ("on", None), ("November 2nd", "arrive_date")],
        [("leave", None), ("Taipei", "fromloc.city_name"), ("on", None), ("November 2nd", "depart_date")],
    ]
    test = [to_example(s) for s in lecture] + test
    return train, test, sorted(held_cities)
