"""What a statement is about, and whether it replaces a fact already remembered (an update), by rules.

No LLM: a statement's *subject* is who or what it is about ("my sister" -> "sister", "Ana, my sister,"
-> "sister", "I ..." -> "i", "my car" -> "car") and its *relation* is the kind of fact, from the words
that carry it (live/moved/based -> home; work/job -> work; ...). A new statement replaces an old fact when
both have the same subject and the same relation (or, where a relation is not recognised, when the two
are close in meaning), and it is not a restatement of the same value. The embedding model, not these
rules, decides which old facts are candidates at all: only the nearest facts are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .kin import KIN_WORDS, kin_names, kin_word, other_names, people_of
from .lexicon import lexicon
from .text import tokenize

UPDATE_MARKERS = re.compile(
    r"^(?:actually|correction|update|small change|things are different now|that has changed|"
    r"i need to correct something|please update your notes|not any more|anymore|now|no wait|wait|oops|"
    r"(?:sorry,? )?i meant(?: to say)?|scratch that|my mistake|i was wrong)\b[\s,:.-]*", re.I)
NOT_SUBJECTS = {"own", "favourite", "favorite", "new", "old", "dear", "lovely", "first", "second", "current",
                "younger", "older", "little", "big", "best", "late", "only"}
COMPOUND_SUBJECTS = {("best", "friend"), ("favourite", "colour"), ("favorite", "color"), ("favourite", "food"),
                     ("favorite", "food"), ("phone", "number"), ("native", "language"), ("lucky", "number")}
RELATIONS: dict[str, tuple[str, ...]] = {
    "home": ("live", "lives", "living", "lived", "moved", "move", "moving", "based", "resides", "reside", "home"),
    "work": ("work", "works", "working", "job", "employed", "employer", "office", "company", "career"),
    "name": ("name", "named", "called"),
    "birthday": ("birthday", "born", "birth"),
    "age": ("old", "age", "aged", "turned", "turns"),
    "likes": ("favourite", "favorite", "love", "loves", "like", "likes", "prefer", "enjoy", "into"),
    "allergy": ("allergic", "allergy", "allergies"),
    "drives": ("drive", "drives", "car", "bought"),
    "speaks": ("speak", "speaks", "language", "learning", "native"),
    "studies": ("study", "studied", "studying", "university", "degree", "college", "school"),
    "plays": ("play", "plays", "playing", "instrument"),
    "phone": ("phone", "number", "mobile"),
}
_CUES = {word: relation for relation, cues in RELATIONS.items() for word in cues}  # word -> the relation it signals
CLOSE_ENOUGH = 0.6  # cosine above which two statements on one subject are the same fact when no relation is known
FIRST_PERSON_WORDS = {"i", "i'm", "i've", "i'd", "my", "me", "mine", "myself"}
_FIRST_PERSON = {"i", "i'm", "i've", "i'd", "i'll", "my", "me", "we", "our", "us", "the", "a", "an", "in", "on"}
_COMMON = {w for cues in RELATIONS.values() for w in cues} | set(NOT_SUBJECTS) | {
    "the", "and", "has", "have", "had", "was", "were", "are", "his", "her", "their", "its", "who", "with",
    "from", "for", "that", "this", "these", "days", "years", "now", "been", "got", "just", "really", "very",
    "also", "still", "always", "never", "one", "mine", "remember", "forget", "forgotten", "noted", "got",
    "your", "you", "okay", "thanks", "sure", "not", "anymore", "any", "more", "called", "name", "named"}


@dataclass(frozen=True)
class Aboutness:
    subject: str | None  # "i", "sister", "car", "best friend"... None when not recognised
    relation: str | None  # a RELATIONS key, None when not recognised


def without_update_marker(text: str) -> tuple[str, bool]:
    """("Actually, my sister lives in Rome." -> "my sister lives in Rome.", True)."""
    stripped = UPDATE_MARKERS.sub("", text.strip(), count=1)
    if stripped == text.strip():
        return text.strip(), False
    return stripped[:1].upper() + stripped[1:], True


def about(text: str) -> Aboutness:
    """Subject and relation; the subject's own words do not count as relation cues ("my car is red")."""
    subject = subject_of(text)
    return Aboutness(subject, relation_of(text, ignore=set(subject.split()) if subject else set()))


def subject_of(text: str) -> str | None:
    """Who or what the statement is about: the first "my X" (X a noun, or a known pair such as "best
    friend"), else "i" for a first-person statement."""
    words = tokenize(text)
    for i, word in enumerate(words[:-1]):
        if word in ("my", "our"):
            pair = tuple(words[i + 1 : i + 3])
            if pair in COMPOUND_SUBJECTS:
                return " ".join(pair)
            for noun in words[i + 1 : i + 3]:
                if noun.isalpha() and noun not in NOT_SUBJECTS:
                    return noun
    if any(w in ("i", "i'm", "i've", "i'd", "me") for w in words):
        return "i"
    return None


def about_someone_else(question: str, fact: str) -> bool:
    """Whether `fact` is about other people than the ones `question` asks about: both name people by
    kin and none in common ("Where does my mother live?" vs "My sister Ana lives in Lisbon."), or both
    give a relative of one kin different names ("my brother Sam" vs "My brother Tom lives in Rome."), or
    both name kinds of animal or vehicle and none in common ("What's my dog's name?" vs "I have a cat named
    Tom."), or one is about the user and the other about a relative."""
    asked, named = people_of(question), people_of(fact)
    if _disjoint(asked, named) or other_names(question, fact):
        return True
    if not asked and _about_a_relative(fact) and FIRST_PERSON_WORDS & set(tokenize(question)):
        return True  # "When is my birthday?" is not answered by "My girlfriend's birthday is July 12."
    if asked and not named and subject_of(fact) == "i":
        return True  # "Forget that my sister lives in Lisbon." never takes "I live in Lisbon too."
    return _disjoint(kinds_of(question), kinds_of(fact)) or opposite_feelings(question, fact)


_DISLIKE = re.compile(r"\b(?:hates?|dislikes?|can'?t stand|cannot stand|"
                      r"(?:don'?t|do not|doesn'?t)(?: i| you)? (?:like|enjoy)|"
                      r"do (?:i|you) not (?:like|enjoy)|loathes?|detests?|least favou?rite|worst)\b", re.I)
_LIKE = re.compile(r"\b(?:favou?rite|loves?|likes?|beats|adores?|prefers?|enjoys?)\b", re.I)


def opposite_feelings(question: str, fact: str) -> bool:
    """Whether one of the two says what the user dislikes and the other what they like ("What food do I
    hate?" vs "Nothing beats halloumi for me.")."""
    def feeling(text: str) -> str | None:  # None: neither, or both ("I don't like apples, mangoes are my favourite.")
        dislike = _DISLIKE.search(text)
        like = _LIKE.search(_DISLIKE.sub(" ", text))
        return None if bool(dislike) == bool(like) else "dislike" if dislike else "like"

    one, other = feeling(question), feeling(fact)
    return one is not None and other is not None and one != other


def _about_a_relative(fact: str) -> bool:
    """Whether a fact is about a relative rather than the user: a kin word follows its first "my", and no
    "I" comes before ("My girlfriend's birthday is July 12.", "Ana, my mother, ...", not "I live with my
    sister.")."""
    words = [kin_word(w) for w in tokenize(fact)]
    for i, word in enumerate(words):
        if word in FIRST_PERSON_WORDS - {"my"}:
            return False
        if word in ("my", "our"):
            return any(w in KIN_WORDS for w in words[i + 1 : i + 4])
    return False


def kinds_of(text: str) -> set[str]:
    """The kinds of animal, vehicle or favourite thing a text names, singular, a breed as its kind ("my dogs"
    -> {"dog"}, "a golden retriever" -> {"dog"}, "a hermit crab", "my bike" -> {"bicycle"}, "movie" -> {"film"})."""
    return {_KIND_OF.get(m.lower(), m.lower()) for m in _kind_words().findall(text)}


# Words for a kind that are not the kind's own name: breeds, young, and vehicles by their everyday names.
_KIND_OF = {**dict.fromkeys(("puppy", "retriever", "labrador", "poodle", "terrier", "spaniel", "bulldog", "beagle",
                             "husky", "dachshund", "chihuahua", "collie", "pug", "corgi", "greyhound", "rottweiler",
                             "doberman", "schnauzer", "sheepdog", "whippet"), "dog"),
            **dict.fromkeys(("kitten", "kitty", "tabby", "siamese", "moggy"), "cat"), "pony": "horse",
            "bunny": "rabbit", "bike": "bicycle", "motorbike": "motorcycle", "lorry": "truck",
            "movie": "film", "novel": "book", "dish": "food", "meal": "food", "beverage": "drink"}
_VEHICLES = ("car", "bicycle", "bike", "motorbike", "motorcycle", "scooter", "van", "truck", "lorry", "boat")
_WORKS = ("film", "book", "food", "drink")  # what a favourite is: "my favourite book" is not "my favourite movie"


@cache
def _kind_words() -> re.Pattern[str]:
    kinds = sorted({*lexicon("species"), *_KIND_OF, *_VEHICLES, *_WORKS}, key=len, reverse=True)  # "hermit crab" 1st
    return re.compile(r"\b(" + "|".join(re.escape(a) for a in kinds) + r")(?:s|es)?\b", re.I)


def other_aspects(new: str, old: str) -> bool:
    """Whether two statements about the same relative say different kinds of thing about them, by the
    word rules: "My sister Ana works as a nurse." is no news on "My sister lives in Berlin."."""
    people = people_of(new)
    if not people or people != people_of(old):
        return False
    one, other = (_relations_of(t) | ({"work"} if _IS_A.search(t) else set()) for t in (new, old))
    return _disjoint(one, other)


_IS_A = re.compile(r"\b(?:is|was) (?:a|an) (?!\w+ (?:of|from|in)\b)\w+\.?$", re.I)  # "my sister is a doctor"


def signals_a_fact(text: str) -> bool:
    """Whether a turn's words signal a kind of fact (where someone lives, works, is called, ...): "Sofia
    works as a teacher." does, "Ana is fine." and "Say hi to Ana for me!" do not."""
    return bool(_relations_of(text))


def _relations_of(text: str) -> set[str]:
    """Every kind of fact a statement's words signal, its subject's own words aside ("My best friend's
    name is Sara, and their home is in Tangier." -> name and home)."""
    subject = subject_of(text)
    return _cued(text, set(subject.split()) if subject else set()) | ({"work"} if _DOES.search(text) else set())


_DOES = re.compile(r"^what (?:does|do|did) (?:\w+ ){1,3}do\b", re.I)  # "What does Maria do?": her work


def asks_another_thing(question: str, fact: str) -> bool:
    """Whether a question asks another kind of thing than a fact tells, by the word rules: "whats my mums
    name" is not answered by "My mum lives in Cardiff." (a fact that gives a relative's name tells a name:
    "Bakari, my mother, lives in Puebla.")."""
    return _disjoint(_relations_of(question), _told(fact) | ({"name"} if kin_names(fact) else set()))


def _told(fact: str) -> set[str]:
    """The kinds of fact a fact's words say, a home by its words for one too ("has a flat in Vienna")."""
    return _relations_of(fact) | ({"home"} if _about_home(fact) else set())


def _about_home(fact: str) -> bool:
    return bool(_HOME & set(tokenize(fact)))


def same_kind_of_thing(question: str, fact: str) -> bool:
    """Whether the word rules find a kind of thing that both a question and a fact speak of, by every cue
    word, the asked thing's own included ("what is my job" and "I work as an accountant.": work); names and
    likings are too common to count ("What's my name?" and "My dog is called Rex.")."""
    return bool((_cued(question) & _cued(fact)) - {"name", "likes"})


def asks_another_thing_about_them(question: str, fact: str) -> bool:
    """Whether a question about a relative asks another kind of thing than a fact about them tells ("Where
    does my daughter work?" vs "My daughter Emma lives in Chicago."); a question for a name never is (a
    fact may name them in lower case: "the home of my cousin aleksander is in Riga"), and a fact's words
    must say what it tells ("My uncle Tom relocated to Graz." says nothing the rules know: not ruled out)."""
    asked = _relations_of(question)
    return bool(people_of(question)) and "name" not in asked and _disjoint(asked, _told(fact))  # not the name given


def speaks_of(line: str, fact: str) -> bool:
    """Whether a dialogue line says (or repeats back) a fact: it names one of the fact's capitalised
    names or numbers ("Rex", "Puebla", "51"), or holds its distinctive words (the content words not
    common to statements, such as "lives" or "called"): all of them, or at least two and half of them
    (for facts typed in lower case: "your partner dreidail lives in kaunas")."""
    said = set(_content(line))
    names = {w.lower() for w in re.findall(r"[A-Z][\w'-]+|\d[\w-]*", fact)} - _COMMON - _FIRST_PERSON
    if names & said:
        return True
    distinctive = {w for w in _content(fact) if w not in _COMMON}
    shared = len(distinctive & said)
    return bool(distinctive) and (shared == len(distinctive) or (shared >= 2 and 2 * shared >= len(distinctive)))


def tells(reply: str, fact: str, question: str = "") -> bool:
    """Whether a reply says all a fact holds beyond what the question already says: every distinctive
    word of the fact ("Your favourite drink is iced." does not tell "Iced tea is my favourite drink.")."""
    said, asked = set(_content(reply)), set(_content(question))
    if _NEGATION.search(fact) and not _NEGATION.search(reply):
        return False  # "You are learning Japanese." does not tell "I'm not learning Japanese any more."
    return {w for w in _content(fact) if w not in _COMMON and w not in _FIRST_PERSON} - asked <= said


_NEGATION = re.compile(r"\b(?:not|never|no longer|no more)\b|n't\b", re.I)


# Words a reply may add around the fact it tells ("Your sister lives in Lisbon."), besides the fact's and
# the question's own words.
_FRAME = {"you", "your", "yours", "you're", "you've", "is", "are", "was", "were", "be", "been", "the", "a", "an",
          "and", "in", "at", "of", "to", "for", "with", "on", "by", "from", "it", "its", "it's", "they", "their",
          "he", "she", "his", "her", "him", "them", "that", "this", "there", "has", "have", "had",
          "called", "named", "name", "now", "still", "told", "me", "i", "my", "she's", "he's", "they're"}
# ... and around a fact about where someone lives ("Your partner Leonor lives in Manila." for "The home of
# my partner Leonor is in Manila."), not around any other ("Your wife Sofia lives in ...").
_HOME_FRAME = {"lives", "live", "living"}
_HOME = set(RELATIONS["home"]) | {"flat", "house", "apartment", "city", "town", "from"}
# A question's own words a reply may repeat, but for its asking words ("Your wife is What's.").
_ASKING = {"what", "what's", "whats", "where", "where's", "who", "who's", "whom", "whose", "when", "which", "why",
           "how", "do", "does", "did", "tell", "remind"}


def adds(reply: str, fact: str, question: str = "") -> set[str]:
    """The words a reply says beyond the fact it tells, the question and a few framing words ("Your boss is
    Tim years old." adds "years" and "old" to "My boss is called Tim."); words match on their first four
    letters ("lived" is "lives"). A word said more often than the fact and the question say it counts too
    ("Your brother Madrid lives in Madrid.", "You have a bike called bike.")."""
    asked = [w for w in tokenize(question) if w not in _ASKING]
    def key(word: str) -> str:  # "mum" in the fact: "mother" is known
        return KIN_WORDS.get(word, word)[:4]

    told = [key(w) for w in [*tokenize(fact), *asked]]
    frame = _FRAME | _HOME_FRAME if _about_home(fact) else _FRAME
    said = [w for w in tokenize(reply) if any(c.isalnum() for c in w) and w not in frame]
    keys = [key(w) for w in said]
    return {w for w, k in zip(said, keys) if keys.count(k) > told.count(k)}


def names_same_person(question: str, fact: str) -> bool:
    """Whether a question and a fact name the same person by kin ("Who is my mum?", "Ana, my mother, ...")
    and the question does not ask another kind of thing about them than the fact tells, by the word rules
    ("Where does my son go to school?" is not answered by "My son is called Leo.")."""
    return bool(people_of(question) & people_of(fact)) and not asks_another_thing(question, fact)


def relation_of(text: str, ignore: set[str] = frozenset()) -> str | None:
    """The kind of fact, from the first word that signals one (None when no word does)."""
    return next((_CUES[w] for w in tokenize(text) if w in _CUES and w not in ignore), None)


def _cued(text: str, ignore: set[str] = frozenset()) -> set[str]:
    """Every kind of fact a text's words signal (`relation_of` takes the first)."""
    return {_CUES[w] for w in tokenize(text) if w in _CUES and w not in ignore}


def _disjoint(one: set[str], other: set[str]) -> bool:
    """Both say something (kin, kinds, relations) and nothing in common: they are about different things."""
    return bool(one and other) and not one & other


def replaces(new: str, old: str, similarity: float) -> bool:
    """Whether statement `new` updates the remembered fact `old` (their cosine is `similarity`)."""
    a, b = about(new), about(old)
    if a.subject is None or a.subject != b.subject:
        return False
    if restates(new, old) or other_names(new, old):
        return False  # the same fact said again (a reinforcement), or another relative of the same kin
    if a.relation is not None and b.relation is not None:
        return a.relation == b.relation
    return similarity >= CLOSE_ENOUGH


def restates(new: str, old: str) -> bool:
    """Whether a statement says a remembered fact again (the same content words, an update marker aside)."""
    return set(_content(without_update_marker(new)[0])) == set(_content(old))


def _content(text: str) -> list[str]:
    return [w for w in tokenize(text) if w.isalnum() and (len(w) > 2 or w.isdigit())]
