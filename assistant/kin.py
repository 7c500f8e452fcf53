"""The user's relatives: the words for them, the names the user gives them, and whom a text names.

No LLM: "my mum", "my mother" and "Bakari, my mother," name one person, the mother; a fact gives a
relative a name ("My sister Ana moved to Lisbon.", "My wife is Sofia."), and a later turn that names
them by name alone is read as about them ("Ana lives in Madrid now." -> "My sister Ana lives in Madrid now.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

from .lexicon import lexicon
from .text import opens_sentence, surface_tokens, tokenize

# The people a user names by their relation to them; words of one group name the same person.
KIN = (("mother", "mum", "mom", "mama", "mommy", "mummy"), ("father", "dad", "papa", "daddy"),
       ("sister",), ("brother",), ("son",), ("daughter",), ("wife",), ("husband",), ("partner",),
       ("grandmother", "grandma", "granny", "nan", "nana"), ("grandfather", "grandpa", "granddad", "grandad"),
       ("aunt", "auntie"), ("uncle",), ("cousin",), ("niece",), ("nephew",), ("boss",), ("neighbour", "neighbor"),
       ("girlfriend",), ("boyfriend",), ("friend",), ("fiance", "fiancé", "fiancee", "fiancée"), ("stepmother",),
       ("stepfather",))
KIN_WORDS = {word: group[0] for group in KIN for word in group}
_NOT_NAMES = {"i", "i'm", "i've", "i'd", "i'll", "the", "a", "an", "he", "she", "they", "we", "it", "and", "but",
              # words that open a sentence before a comma as a name would ("Yesterday, my sister moved.")
              "yesterday", "today", "tonight", "tomorrow", "recently", "lately", "later", "earlier", "finally",
              "sadly", "luckily", "unfortunately", "fortunately", "honestly", "basically", "anyway", "meanwhile",
              "however", "apparently", "obviously", "seriously", "currently", "usually", "sometimes", "often",
              "again", "guess", "btw", "oh", "ah", "wow", "sorry", "anyways", "besides", "otherwise", "surprisingly"}


def people_of(text: str) -> set[str]:
    """The people a text names by kin ("my mum", "my best friend's"): canonical kin words."""
    words = [kin_word(w) for w in tokenize(text)]
    best = [i for i, (a, b) in enumerate(zip(words, words[1:])) if a == "best" and b == "friend"]
    found = {KIN_WORDS[w] for i, w in enumerate(words) if w in KIN_WORDS and i - 1 not in best}  # "best friend": one
    return found | ({"best friend"} if best else set())


def kin_word(word: str) -> str:
    """A word with its possessive or plural "s" off where that makes a kin word ("brothers", "dad's")."""
    word = word.removesuffix("'s")
    return word[:-1] if word not in KIN_WORDS and word.endswith("s") and word[:-1] in KIN_WORDS else word


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
    return dict(_kin_names(fact))


@lru_cache(maxsize=4096)
def _kin_names(fact: str) -> tuple[tuple[str, str], ...]:
    """`kin_names`, kept: a turn asks it of the same nearest facts several times, and of the same facts
    turn after turn."""
    tokens = surface_tokens(fact)
    low = [t.lower() for t in tokens]

    def name(i: int) -> str | None:
        if not 0 <= i < len(tokens):
            return None
        word = tokens[i].removesuffix("'s")
        if not (word[:1].isupper() and word.isalpha()) or word.lower() in KIN_WORDS or word.lower() in _NOT_NAMES:
            return None
        return None if (i == 0 or low[i - 1] in ".!?") and opens_sentence(word) else word.lower()

    found: dict[str, str] = {}
    for i, word in enumerate(low):
        possessive = word.endswith("'s")
        word = word.removesuffix("'s")
        best = word == "friend" and i > 0 and low[i - 1] == "best"
        kin, opens = ("best friend", i - 1) if best else (KIN_WORDS.get(word), i)  # opens: where "sister" starts
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
    return tuple(found.items())


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


_WORD_NAMES = {"will", "may", "mark", "bill", "rose", "grace", "hope", "faith", "joy", "june", "april", "august",
               "summer",
               "dawn", "pat", "sue", "ray", "art", "jack", "bob", "sky", "river", "rich", "hunter", "chase", "penny",
               "ruby", "amber", "jade", "ivy", "holly", "lily", "daisy", "iris", "olive", "pearl", "violet", "robin",
               "sandy", "rusty", "frank", "earl", "gene", "guy", "don", "drew", "lane", "miles", "wade", "max", "rex"}


def with_kin(text: str, known: dict[str, str]) -> str:
    """A statement or question that names a relative by name alone, with the kin the user gave them
    (`kin_names`): "Ana lives in Madrid now." -> "My sister Ana lives in Madrid now." Unchanged when it
    names people by kin already, or no name it holds is known, or the name follows another's word for
    them ("My friend Ana ..."), or a capital only opens a question ("Will I need a visa?"). A name typed in
    lower case counts only where it opens the turn ("anna moved to porto"), and never one that is also an
    everyday word ("will", "may", "mark")."""
    if people_of(text):
        return text
    tokens = surface_tokens(text)
    low = [t.lower() for t in tokens]
    for i, token in enumerate(tokens):
        typed_low = i == 0 and low[i] not in _WORD_NAMES  # "anna moved to porto": a name typed in lower case
        kin = known.get(low[i].removesuffix("'s")) if token[:1].isupper() or typed_low else None
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


def names_given(facts: Sequence[str], older: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """The names the facts give the user's relatives (`kin_names`), and the names that the facts they
    replaced (`older`: (fact, a fact it replaced) pairs) gave the relatives they still speak of ("My sister
    now lives in Berlin." after "My sister Ana moved to Lisbon.": Ana is still your sister; not after "My
    sister is now Eva."); a name given to two different relatives is left out."""
    given: dict[str, set[str]] = {}
    for fact in facts:
        for name, kin in kin_names(fact).items():
            given.setdefault(name, set()).add(kin)
    for fact, old in older:
        renamed = set(kin_names(fact).values())
        for name, kin in kin_names(old).items():
            if kin in people_of(fact) and kin not in renamed:
                given.setdefault(name, set()).add(kin)
    return {name: kins.pop() for name, kins in given.items() if len(kins) == 1}


def names_asked(question: str, known: dict[str, str]) -> set[str]:
    """The names of relatives (`known`, from `names_given`) a question asks about, in any case ("where
    does julia live")."""
    return set(known) & {w.removesuffix("'s") for w in tokenize(question)}


def may_name_someone(text: str) -> bool:
    """Whether a text holds a capitalised word that is not only the opening of its sentence (nor "I")."""
    tokens = text.split()
    return any(t[:1].isupper() and t.strip(".,!?;:'\"") not in ("I", "I'm", "I've", "I'd", "I'll")
               and (i > 0 or not opens_sentence(t.strip(".,!?;:"))) for i, t in enumerate(tokens))
