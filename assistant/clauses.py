"""Where one statement holds several facts: "I'm Tom, I'm 34 years old." is two, each stored on its own.

By rules: a comma, "and", "but" or ";" before a new subject and verb starts a new fact; a piece without
a subject and verb ("My wife and I ..."), a hedge ("..., I think."), a piece that points back ("I have a
cat and I love her.") or a subordinate opening ("If I could be an animal, I'd be a lion.") does not.
"""

from __future__ import annotations

import re

from .text import as_sentence

# Where one statement holds two facts: a comma, "and", "but" or ";" before a new subject ("I'm Tom, I'm 34.",
# "I live in Porto and my wife is Sofia."). "my X" opens a clause only with a verb after it ("I live with my
# sister, my mum and my dog." is one fact).
_CLAUSE_BREAK = re.compile(r"(?:\s*[,;]\s*(?:and\s+|but\s+)?|\s+(?:and|but)\s+)"
                           r"(?=(?:I|I'm|I've|I'd|im|ive|we|we're|my|our)\b)", re.I)
_VERBS = re.compile(r"\b(?:is|are|was|were|has|have|had|lives|live|lived|works|work|worked|moved|likes|loves|"
                    r"hates|plays|studies|speaks|drives|owns|teaches|turns|turned|\w+s called|\w+s named)\b", re.I)
_SUBORDINATE = re.compile(r"^\W*(?:if|when|whenever|because|since|as|although|though|while|unless|once|before|after|"
                          r"until|whether|even if|even though|so that|in case)\b", re.I)
_SUBJECT_VERB = re.compile(r"\b(?:I|we|you|he|she|they)\s+(?!and\b|or\b)\w+|"
                           r"\b(?:I|we|you|they|he|she)'(?:m|re|ve|d|s|ll)\b|\b(?:im|ive)\b", re.I)
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
    return [as_sentence(p.strip().rstrip(".!?;,")) for p in parts]


def _a_clause(text: str) -> bool:
    """Whether a piece of a statement says something on its own: a subject and a verb."""
    return bool(_VERBS.search(text) or _SUBJECT_VERB.search(text))
