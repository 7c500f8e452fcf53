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

from .relations import lexicon
from .text import opens_sentence, surface_tokens, tokenize

UPDATE_MARKERS = re.compile(
    r"^(?:actually|correction|update|small change|things are different now|that has changed|"
    r"i need to correct something|please update your notes|not any more|anymore|now)\b[\s,:.-]*", re.I)
NOT_SUBJECTS = {"own", "favourite", "favorite", "new", "old", "dear", "lovely", "first", "second", "current",
                "younger", "older", "little", "big", "best", "late", "only"}
COMPOUND_SUBJECTS = {("best", "friend"), ("favourite", "colour"), ("favorite", "color"), ("favourite", "food"),
                     ("favorite", "food"), ("phone", "number"), ("native", "language"), ("lucky", "number")}
RELATIONS: dict[str, tuple[str, ...]] = {
    "home": ("live", "lives", "living", "lived", "moved", "move", "moving", "based", "resides", "reside", "home"),
    "work": ("work", "works", "working", "job", "employed", "employer", "office", "company", "career"),
    "name": ("name", "named", "called"),
    "birthday": ("birthday", "born", "birth"),
    "age": ("old", "age", "aged"),
    "likes": ("favourite", "favorite", "love", "loves", "like", "likes", "prefer", "enjoy", "into"),
    "allergy": ("allergic", "allergy", "allergies"),
    "drives": ("drive", "drives", "car", "bought"),
    "speaks": ("speak", "speaks", "language", "learning", "native"),
    "studies": ("study", "studied", "studying", "university", "degree", "college", "school"),
    "plays": ("play", "plays", "playing", "instrument"),
    "phone": ("phone", "number", "mobile"),
}
# The people a user names by their relation to them; words of one group name the same person.
KIN = (("mother", "mum", "mom", "mama", "mommy", "mummy"), ("father", "dad", "papa", "daddy"),
       ("sister",), ("brother",), ("son",), ("daughter",), ("wife",), ("husband",), ("partner",),
       ("grandmother", "grandma", "granny", "nan", "nana"), ("grandfather", "grandpa", "granddad", "grandad"),
       ("aunt", "auntie"), ("uncle",), ("cousin",), ("niece",), ("nephew",), ("boss",), ("neighbour", "neighbor"),
       ("girlfriend",), ("boyfriend",), ("friend",), ("fiance", "fiancé", "fiancee", "fiancée"), ("stepmother",), ("stepfather",))
_KIN = {word: group[0] for group in KIN for word in group}
CLOSE_ENOUGH = 0.6
_NOT_NAMES = {"i", "i'm", "i've", "i'd", "i'll", "the", "a", "an", "he", "she", "they", "we", "it", "and", "but",
              # words that open a sentence before a comma as a name would ("Yesterday, my sister moved.")
              "yesterday", "today", "tonight", "tomorrow", "recently", "lately", "later", "earlier", "finally",
              "sadly", "luckily", "unfortunately", "fortunately", "honestly", "basically", "anyway", "meanwhile",
              "however", "apparently", "obviously", "seriously", "currently", "usually", "sometimes", "often",
              "again", "guess", "btw", "oh", "ah", "wow", "sorry", "anyways", "besides", "otherwise", "surprisingly"}
FIRST_PERSON_WORDS = {"i", "i'm", "i've", "i'd", "my", "me", "mine", "myself"}
_FIRST_PERSON = {"i", "i'm", "i've", "i'd", "i'll", "my", "me", "we", "our", "us", "the", "a", "an", "in", "on"}
_COMMON = {w for cues in RELATIONS.values() for w in cues} | set(NOT_SUBJECTS) | {
    "the", "and", "has", "have", "had", "was", "were", "are", "his", "her", "their", "its", "who", "with",
    "from", "for", "that", "this", "these", "days", "years", "now", "been", "got", "just", "really", "very",
    "also", "still", "always", "never", "one", "mine", "remember", "forget", "forgotten", "noted", "got",
    "your", "you", "okay", "thanks", "sure", "not", "anymore", "any", "more", "called", "name", "named"}  # cosine above which two statements on one subject are the same fact when no relation is known


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


def people_of(text: str) -> set[str]:
    """The people a text names by kin ("my mum", "my best friend's"): canonical kin words."""
    words = [w.removesuffix("'s") for w in tokenize(text)]
    best = [i for i, (a, b) in enumerate(zip(words, words[1:])) if a == "best" and b == "friend"]
    found = {_KIN[w] for i, w in enumerate(words) if w in _KIN and i - 1 not in best}  # a best friend is one kin
    return found | ({"best friend"} if best else set())


def about_someone_else(question: str, fact: str) -> bool:
    """Whether `fact` is about other people than the ones `question` asks about: both name people by
    kin and none in common ("Where does my mother live?" vs "My sister Ana lives in Lisbon."), or both
    give a relative of one kin different names ("my brother Sam" vs "My brother Tom lives in Rome."), or
    both name kinds of animal and none in common ("What's my dog's name?" vs "I have a cat named Tom.")."""
    asked, named = people_of(question), people_of(fact)
    if (asked and named and not asked & named) or other_names(question, fact):
        return True
    if not asked and _about_a_relative(fact) and FIRST_PERSON_WORDS & set(tokenize(question)):
        return True  # "When is my birthday?" is not answered by "My girlfriend's birthday is July 12."
    asked, named = animals_of(question), animals_of(fact)
    return bool(asked and named) and not asked & named or opposite_feelings(question, fact)


_DISLIKE = re.compile(r"\b(?:hates?|dislikes?|can'?t stand|cannot stand|(?:don'?t|do not|doesn'?t)(?: i| you)? (?:like|enjoy)|"
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
    words = [w.removesuffix("'s") for w in tokenize(fact)]
    for i, word in enumerate(words):
        if word in FIRST_PERSON_WORDS - {"my"}:
            return False
        if word in ("my", "our"):
            return any(w in _KIN for w in words[i + 1 : i + 4])
    return False


def animals_of(text: str) -> set[str]:
    """The kinds of animal a text names, singular ("my dogs" -> {"dog"}, "a hermit crab")."""
    return {m.lower() for m in _animal_words().findall(text)}


@cache
def _animal_words() -> re.Pattern[str]:
    kinds = sorted(lexicon("species"), key=len, reverse=True)  # "hermit crab" before "crab"
    return re.compile(r"\b(" + "|".join(re.escape(a) for a in kinds) + r")(?:s|es)?\b", re.I)


def other_aspects(new: str, old: str) -> bool:
    """Whether two statements about the same relative say different kinds of thing about them, by the
    word rules: "My sister Ana works as a nurse." is no news on "My sister lives in Berlin."."""
    people = people_of(new)
    if not people or people != people_of(old):
        return False
    one, other = _relations_of(new), _relations_of(old)
    return bool(one and other) and not one & other


def signals_a_fact(text: str) -> bool:
    """Whether a turn's words signal a kind of fact (where someone lives, works, is called, ...): "Sofia
    works as a teacher." does, "Ana is fine." and "Say hi to Ana for me!" do not."""
    return bool(_relations_of(text))


def _relations_of(text: str) -> set[str]:
    """Every kind of fact a statement's words signal, its subject's own words aside ("My best friend's
    name is Sara, and their home is in Tangier." -> name and home)."""
    subject = subject_of(text)
    ignore = set(subject.split()) if subject else set()
    return {relation for word in tokenize(text) if word not in ignore
            for relation, cues in RELATIONS.items() if word in cues}


def other_names(one: str, other: str) -> bool:
    """Whether two texts name different people by one kin word: "My brother Sam moved to Oslo." and "My
    brother Tom lives in Rome." (two brothers); a text that gives no name never differs."""
    first, second = _names_by_kin(one), _names_by_kin(other)
    return any(kin in second and not names & second[kin] for kin, names in first.items())


def _names_by_kin(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, kin in kin_names(text).items():
        out.setdefault(kin, set()).add(name)
    return out


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
    return {w for w in _content(fact) if w not in _COMMON and w not in _FIRST_PERSON} - asked <= said


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
    letters ("lived" is "lives")."""
    asked = [w for w in tokenize(question) if w not in _ASKING]
    known = {_KIN.get(w, w)[:4] for w in [*tokenize(fact), *asked]}  # "mum" in the fact: "mother" is known
    frame = _FRAME | _HOME_FRAME if _HOME & set(tokenize(fact)) else _FRAME
    return {w for w in tokenize(reply)
            if any(c.isalnum() for c in w) and w not in frame and _KIN.get(w, w)[:4] not in known}


# What may stand between a kin word and the name it is given: "my sister Ana", "my sister, Ana,", "my
# sister is called Ana", "my sister's name is Ana" (after a possessive only the last two).
_NAMING = ((), (",",), ("called",), ("named",), ("is", "called"), ("is", "named"), ("was", "called"),
           ("was", "named"), (",", "called"), (",", "named"), ("name", "is"), ("name", ":"), ("name", "was"),
           ("is",), ("is", "now"))  # "My wife is Sofia.": only a name that ends the clause (`_bare_name`)
_CLAUSE_ENDS = {".", ",", "!", ";", "and", "but"}
_NATIONALITY = ("ese", "ish")  # "Portuguese", "Danish" (what languages and `_NOT_A_NAME` do not hold)
# Words that end "my husband is ..." and are no name: nationalities that are no language, faiths, diets.
_NOT_A_NAME = {
    "american", "canadian", "mexican", "brazilian", "argentinian", "argentine", "chilean", "peruvian", "colombian",
    "venezuelan", "cuban", "jamaican", "haitian", "dominican", "australian", "indian", "pakistani", "bangladeshi",
    "nepali", "sri", "afghan", "iranian", "iraqi", "syrian", "jordanian", "israeli", "saudi", "egyptian",
    "moroccan", "algerian", "tunisian", "nigerian", "ghanaian", "kenyan", "ethiopian", "ugandan", "rwandan",
    "tanzanian", "somali", "belgian", "austrian", "swiss", "welsh", "scots", "filipino", "malaysian",
    "singaporean", "kiwi", "african", "european", "asian", "latino", "latina", "muslim", "christian", "jewish",
    "catholic", "protestant", "hindu", "buddhist", "sikh", "atheist", "vegan", "vegetarian", "ok", "okay"}
_DETERMINERS = {"my", "our", "your", "his", "her", "their"}
_KIN_ADJECTIVES = {"older", "younger", "elder", "eldest", "oldest", "youngest", "little", "big", "baby", "twin",
                   "middle", "new", "old", "dear", "late", "favourite", "favorite"}
_PRONOUNS = {"i", "you", "we", "he", "she", "they", "it"}


def kin_names(fact: str) -> dict[str, str]:
    """The names a fact gives the user's relatives, lowercased, with their canonical kin word: "My sister
    Ana moved to Lisbon.", "Ana, my sister, ...", "My sister's name is Ana.", "Ana is my sister.", "I have
    a sister called Ana." -> {"ana": "sister"}. A name is a capitalised word that does not only open the
    sentence; a name given to two relatives keeps the first."""
    tokens = surface_tokens(fact)
    low = [t.lower() for t in tokens]

    def name(i: int) -> str | None:
        if not 0 <= i < len(tokens):
            return None
        word = tokens[i].removesuffix("'s")
        if not (word[:1].isupper() and word.isalpha()) or word.lower() in _KIN or word.lower() in _NOT_NAMES:
            return None
        return None if (i == 0 or low[i - 1] in ".!?") and opens_sentence(word) else word.lower()

    found: dict[str, str] = {}
    for i, word in enumerate(low):
        possessive = word.endswith("'s")
        word = word.removesuffix("'s")
        best = word == "friend" and i > 0 and low[i - 1] == "best"
        kin, opens = ("best friend", i - 1) if best else (_KIN.get(word), i)  # opens: where "sister" starts
        if kin is not None and opens >= 2 and low[opens - 1] in _KIN_ADJECTIVES:
            opens -= 1  # "my older sister Clara"
        if kin is None or opens == 0 or low[opens - 1] not in ("my", "our", "a"):
            continue
        named = low[opens - 1] != "a"  # "a sister" is named only by "called"/"named" after it

        def fits(gap: tuple[str, ...]) -> bool:
            if possessive:  # "my sister's name is Ana"
                return gap[:1] == ("name",)
            if gap in (("is",), ("is", "now")):
                return named and _bare_name(tokens, i + 1 + len(gap))
            return named or gap[-1:] in (("called",), ("named",))

        after = [name(i + 1 + len(gap)) for gap in _NAMING if tuple(low[i + 1 : i + 1 + len(gap)]) == gap and fits(gap)]
        before = None
        if named and not possessive and not any(after) and opens >= 3 and low[opens - 2] in (",", "is", "was"):
            before = name(opens - 3)  # "Ana, my sister", "Ana is my sister" ("Yesterday, my sister Ana": Ana)
        for given in (*after, before):
            if given:
                found.setdefault(given, kin)
    return found


def _bare_name(tokens: list[str], i: int) -> bool:
    """Whether the word at `i`, after "my wife is", is her name: it ends the clause ("My wife is Sofia."),
    and is no language, nationality, faith, company or place ("My mum is Portuguese.") unless memchat knows it
    as a name."""
    end = i + 2 if i + 1 < len(tokens) and tokens[i + 1][:1].isupper() else i + 1  # "Sofia Loren"
    if i >= len(tokens) or (end < len(tokens) and tokens[end].lower() not in _CLAUSE_ENDS):
        return False
    word = tokens[i]
    if word in _name_words():
        return True
    low = word.lower()
    if word.isupper() or low in _NOT_A_NAME or low.endswith(_NATIONALITY):
        return False
    return not any(word in lexicon(kind) for kind in ("languages", "employers", "places"))


@cache
def _name_words() -> frozenset[str]:
    return frozenset(lexicon("names"))


def with_kin(text: str, known: dict[str, str]) -> str:
    """A statement or question that names a relative by name alone, with the kin the user gave them
    (`kin_names`): "Ana lives in Madrid now." -> "My sister Ana lives in Madrid now." Unchanged when it
    names people by kin already, or no name it holds is known, or the name follows another's word for
    them ("My friend Ana ..."), or a capital only opens a question ("Will I need a visa?")."""
    if people_of(text):
        return text
    tokens = surface_tokens(text)
    low = [t.lower() for t in tokens]
    for i, token in enumerate(tokens):
        kin = known.get(low[i].removesuffix("'s")) if token[:1].isupper() else None
        if not kin or _DETERMINERS & set(low[max(0, i - 2) : i]):
            continue
        first = i == 0 or low[i - 1] in ".!?"
        if first and (opens_sentence(token) or (i + 1 < len(low) and low[i + 1] in _PRONOUNS)):
            continue
        at = re.search(rf"(?<!\w){re.escape(token)}(?!\w)", text)
        if at is None:
            continue
        said = f"my {kin} "
        said = said[:1].upper() + said[1:] if not text[: at.start()].strip(" \"'(") else said
        return text[: at.start()] + said + text[at.start():]
    return text


# Where one statement holds two facts: a comma, "and", "but" or ";" before a new subject ("I'm Tom, I'm 34.",
# "I live in Porto and my wife is Sofia."). "my X" opens a clause only with a verb after it ("I live with my
# sister, my mum and my dog." is one fact).
_CLAUSE_BREAK = re.compile(r"(?:\s*[,;]\s*(?:and\s+|but\s+)?|\s+(?:and|but)\s+)(?=(?:I|I'm|I've|I'd|we|we're|my|our)\b)",
                           re.I)
_VERBS = re.compile(r"\b(?:is|are|was|were|has|have|had|lives|live|lived|works|work|worked|moved|likes|loves|"
                    r"hates|plays|studies|speaks|drives|owns|teaches|turns|turned|\w+s called|\w+s named)\b", re.I)

_SUBORDINATE = re.compile(r"^\W*(?:if|when|whenever|because|since|as|although|though|while|unless|once|before|after|"
                          r"until|whether|even if|even though|so that|in case)\b", re.I)
_SUBJECT_VERB = re.compile(r"\b(?:I|we|you|he|she|they)\s+(?!and\b|or\b)\w+|\b(?:I|we|you|they|he|she)'(?:m|re|ve|d|s|ll)\b",
                           re.I)
_HEDGE = re.compile(r"^\s*(?:I|we) (?:think|guess|believe|suppose|reckon|mean|hope|know|bet)\b|^\s*I'm (?:not )?sure",
                    re.I)
_POINTS_BACK = re.compile(r"\b(?:him|her|it|them|he|she|they|its|his|their|there|that|this|one)\b", re.I)


def clauses(statement: str) -> list[str]:
    """The facts one statement holds, each as a sentence: "I'm Tom, I'm 34 years old." -> ["I'm Tom.",
    "I'm 34 years old."]. A statement of one fact comes back whole."""
    if _SUBORDINATE.match(statement):
        return [statement]  # "If I could be an animal, I'd be a lion.": one fact
    parts: list[str] = []
    start = 0
    for cut in _CLAUSE_BREAK.finditer(statement):
        clause = re.split(r"[,;]|\band\b|\bbut\b", statement[cut.end():])[0]
        if not _a_clause(clause) or _POINTS_BACK.search(clause) or _HEDGE.match(clause):
            continue  # "... my sister, my mum", "I have a dog and I love him", "..., I think": one fact
        part = statement[start:cut.start()].strip()
        if _a_clause(part):  # "Yes, I ...", "Last year, I ...", "My wife and I ...": one fact
            parts.append(part)
            start = cut.end()
    parts.append(statement[start:].strip())
    if len(parts) == 1:
        return [statement]
    return [_as_sentence(p) for p in parts]


def _a_clause(text: str) -> bool:
    """Whether a piece of a statement says something on its own: a subject and a verb."""
    return bool(_VERBS.search(text) or _SUBJECT_VERB.search(text))


def _as_sentence(text: str) -> str:
    text = text.strip().rstrip(".!?;,")
    return text[:1].upper() + text[1:] + "."


def names_same_person(question: str, fact: str) -> bool:
    """Whether a question and a fact name the same person by kin ("Who is my mum?", "Ana, my mother, ...")."""
    return bool(people_of(question) & people_of(fact))


_WHO = re.compile(r"\b(?:who|who's|whos|name|called)\b", re.I)


def asks_who(question: str) -> bool:
    """Whether a question asks who someone is or what they are called (a fact naming them answers it), not
    something about them ("Where does my son go to school?")."""
    return bool(_WHO.search(question))


def relation_of(text: str, ignore: set[str] = frozenset()) -> str | None:
    """The kind of fact, from the first word that signals one (None when no word does)."""
    for word in tokenize(text):
        if word in ignore:
            continue
        for relation, cues in RELATIONS.items():
            if word in cues:
                return relation
    return None


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
