"""Words in and out of the generator: one tokenizer for every corpus, and the text of a generated reply.

Tokens are lowercased words (letters, digits and underscores, with inner apostrophes: "i'm",
"resto_rome_cheap_indian_6stars") and single punctuation marks. The vocabulary, the memory and the
exact-match metrics all use these tokens, so "Lisbon." and "lisbon ." compare equal. A reply keeps the
spelling a word had in memory: copying "Lisbon" gives "Lisbon", not "lisbon".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)
_NO_SPACE_BEFORE = {".", ",", "!", "?", ":", ";", ")", "%", "'s"}
_NO_SPACE_AFTER = {"(", "$"}
_I = {"i": "I", "i'm": "I'm", "i'll": "I'll", "i've": "I've", "i'd": "I'd"}  # always upper-case


# Words that are capitalised because they open a sentence, not because they are names.
_OPENERS = frozenset("""
a actually also am an and are as at be but by can correction could did do does don't for forget fyi from
good has have hello hey hi how i'd i'll i'm i've if in is it it's just keep let's my no not note now of
ok okay on or our please remember remind so something tell thanks thank that that's the then there these
they this those to update we well what when where which who why will with would yes you your
nothing back last every since originally once after before during all one here most some each both
""".split())


def opens_sentence(word: str) -> bool:
    """Whether a capitalised first word is only capitalised because it opens a sentence ("My", "Nothing"),
    not because it is a name ("Migom, my brother, ...")."""
    word = word.lower()
    return word in _OPENERS or word.split("'")[0] in _OPENERS  # "We've", "There's"


def surface_tokens(text: str) -> list[str]:
    """The tokens of `text` with their spelling kept: "My sister Ana." -> [My, sister, Ana, .]."""
    return [t.replace("’", "'") for t in _TOKEN.findall(text)]


def tokenize(text: str) -> list[str]:
    """The lowercased tokens the models see: "My sister Ana." -> [my, sister, ana, .]."""
    return [t.lower() for t in surface_tokens(text)]


def spellings(texts: Iterable[str]) -> dict[str, str]:
    """Lowercased token -> the first spelling it has in `texts`, for words that are not all lowercase.
    A capital that only starts a sentence ("Remember that ...") is not a spelling, except for a word
    that is not a common sentence opener ("Ana, my sister, ..."); capitals inside sentences come first."""
    inside: dict[str, str] = {}
    opening: dict[str, str] = {}
    for text in texts:
        starts = True
        for token in surface_tokens(text):
            low = token.lower()
            if low != token:
                if not starts:
                    inside.setdefault(low, token)
                elif low not in _OPENERS:
                    opening.setdefault(low, token)
            starts = token in (".", "!", "?", ":", ";", '"')
    return {**opening, **inside}


def names(text: str) -> list[tuple[str, ...]]:
    """The multi-word names of a text, lowercased: runs of two or more capitalised words ("Abu Dhabi",
    "Ho Chi Minh City"), not counting a capital that only opens a sentence."""
    out, run, starts = [], [], True
    for token in surface_tokens(text):
        named = token[:1].isupper() and token.replace("-", "").replace("'", "").isalpha() and not (
            starts and token.lower() in _OPENERS)
        if named:
            run.append(token.lower())
        else:
            if len(run) > 1:
                out.append(tuple(run))
            run = []
        starts = token in (".", "!", "?", ":", ";", '"')
    if len(run) > 1:
        out.append(tuple(run))
    return out


def complete_names(tokens: Sequence[str], known: Iterable[tuple[str, ...]]) -> list[str]:
    """Reply tokens with every name of `known` that the reply starts but breaks off at the end of a
    clause ("in abu ." -> "in abu dhabi ."): a copied name is copied whole. (After copying an unknown
    word the decoder reads <unk>, which it never read in training, and tends to stop.)"""
    out = list(tokens)
    for name in sorted(set(known), key=len, reverse=True):
        i = 0
        while i < len(out):
            k = 0
            while k < len(name) and i + k < len(out) and out[i + k] == name[k]:
                k += 1
            ends = i + k == len(out) or not out[i + k][:1].isalnum()
            if 0 < k < len(name) and ends and (i == 0 or out[i - 1] != name[0]):
                out[i + k : i + k] = list(name[k:])
            i += max(k, 1)
    return out


def without_repeats(tokens: Sequence[str], sources: Iterable[str] = ()) -> list[str]:
    """Reply tokens without a word said twice in a row ("the matrix matrix", "your your name"): the
    decoder's stutter, unless one of the `sources` (the facts read, the user's line) says it twice too
    ("La La Land")."""
    meant = {(a, b) for text in sources for a, b in zip(tokenize(text), tokenize(text)[1:]) if a == b}
    return [t for i, t in enumerate(tokens)
            if not (i and t == tokens[i - 1] and t.isalpha() and (t, t) not in meant)]


def as_sentence(text: str) -> str:
    """A text as a sentence: its first letter upper-cased, a full stop unless it ends with one already."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def detokenize(tokens: Sequence[str], spelling: dict[str, str] | None = None, capitalize: bool = False) -> str:
    """Join tokens into text: punctuation attached, each word spelled as in `spelling` (e.g. memory's
    "Lisbon"), the first letter upper-cased when `capitalize`."""
    words = [_I.get(t, spelling.get(t, t) if spelling else t) for t in tokens]
    out = ""
    for i, word in enumerate(words):
        if i and word not in _NO_SPACE_BEFORE and words[i - 1] not in _NO_SPACE_AFTER:
            out += " "
        out += word
    if capitalize and out:
        out = out[0].upper() + out[1:]
    return out


def same_tokens(a: str, b: str) -> bool:
    """Exact match as the dialog metrics count it: equal token sequences (case and spacing ignored)."""
    return tokenize(a) == tokenize(b)


_SECOND_PERSON = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're",
                  "i've": "you've", "i'd": "you'd", "i'll": "you'll", "am": "are", "was": "were",
                  # "we" said by the user takes them in: "We've got a dog." -> "You've got a dog."
                  "we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves",
                  "we're": "you're", "we've": "you've", "we'd": "you'd", "we'll": "you'll",
                  "im": "you're", "ive": "you've"}  # typed without the apostrophe


def second_person(text: str) -> str:
    """A user's statement as the assistant says it back: "I moved to Lisbon with my dog" -> "you moved to
    Lisbon with your dog". "am"/"was" change only right after "I"."""
    previous = ""

    def swap(match: re.Match) -> str:
        nonlocal previous
        token = match.group().replace("’", "'")
        low = token.lower()
        keep = (low in ("am", "was") and previous != "i") or (token.isupper() and len(token) > 1)  # "the US"
        previous = low
        return token if keep else _SECOND_PERSON.get(low, token)

    return _TOKEN.sub(swap, text)  # only the words change: "7:45", "check-in" and spacing stay as typed
