"""Labelled sentences for the importance model: how long a told memory deserves to last.

Three classes, each standing for an importance (`VALUES`):
- vital (1.0): what a person can trust an assistant to keep: names of the people in their life, health,
  allergies and medication, where they live and how to reach them, dates to keep (birthdays,
  anniversaries, appointments). From the catalogue's relations (lab/relations.py) and the templates below.
- ordinary (0.5): what they are and like: work, studies, age, languages, tastes, pastimes. The catalogue's
  other relations and Synthetic-Persona-Chat's persona sentences.
- passing (0.0): remarks of the moment, DailyDialog's statements ("inform" acts).

Word lists and templates live here, in the data generator; the runtime only reads the trained model.
The catalogue is split as everywhere (relations.py); persona and DailyDialog sentences by their own splits
(persona sentences by a hash of the text).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from pathlib import Path

from lab.corpora import dailydialog, persona_sentences
from lab.relations import Split, catalogue, render, values

CLASSES = ("passing", "ordinary", "vital")
VALUES = (0.0, 0.5, 1.0)

VITAL_RELATIONS = frozenset({
    "sister", "brother", "mother", "father", "son", "daughter", "wife", "husband", "partner", "grandmother",
    "grandfather", "aunt", "uncle", "cousin", "best_friend", "home_city", "birthday", "allergy", "children",
    "phone", "phone_number", "pet", "anniversary",
})

# Health, addresses and appointments, which the catalogue does not hold. Every fourth item is for evaluation.
_VITAL_TEMPLATES = (
    "I take {medicine} every morning.", "I have {condition}.", "My doctor put me on {medicine}.",
    "I can't have {medicine}, it gives me a rash.", "I was diagnosed with {condition} last year.",
    "My address is {number} {street} {road}.", "I live at {number} {street} {road}.",
    "I have a {appointment} appointment on {date}.", "My {appointment} appointment is on {date} at {hour}.",
    "Don't let me forget the {appointment} on {date}.", "My mum has {condition}.",
    "The {appointment} is booked for {date}.",
)
_FILL = {
    "medicine": ("insulin", "metformin", "ibuprofen", "penicillin", "aspirin", "warfarin", "an inhaler", "statins",
                 "levothyroxine", "antihistamines", "blood thinners", "codeine"),
    "condition": ("asthma", "diabetes", "epilepsy", "high blood pressure", "a heart condition", "coeliac disease",
                  "migraines", "anaemia", "arthritis", "a thyroid problem", "sleep apnoea", "psoriasis"),
    "street": ("Rose", "Mill", "Church", "Station", "Park", "King", "Oak", "Victoria", "Bridge", "Elm", "High",
               "Chapel"),
    "road": ("Street", "Road", "Lane", "Avenue"),
    "appointment": ("dentist", "doctor's", "eye test", "hospital", "physio", "vet", "blood test", "scan",
                    "hearing test", "dermatology", "therapy", "vaccination"),
    "hour": ("9:30", "10am", "2pm", "4:15", "11:00", "8am", "3:45", "noon"),
}


@dataclass(frozen=True)
class Labelled:
    text: str
    label: int  # index into CLASSES
    source: str  # "catalogue", "health", "persona", "dailydialog"


def examples(data: Path, split: Split, per_relation: int, seed: int) -> list[Labelled]:
    """Labelled sentences of one split: `per_relation` of each catalogue relation and as many of the health
    templates, persona sentences and DailyDialog statements as keep the three classes about balanced."""
    rng = random.Random(seed)
    out = _catalogue(split, per_relation, rng)
    out += [Labelled(_vital(split, rng), 2, "health") for _ in range(per_relation * 6)]
    vital = sum(e.label == 2 for e in out)
    persona = [s for s in persona_sentences(data) if _split_of(s) == split]
    out += [Labelled(s, 1, "persona") for s in rng.sample(persona, min(len(persona), vital // 2))]
    said = [u.text for u in dailydialog(data, "train" if split == "train" else "validation")
            if u.act == "inform" and 3 <= len(u.text.split()) <= 20 and not u.text.endswith("?")]
    out += [Labelled(s, 0, "dailydialog") for s in rng.sample(sorted(set(said)), min(len(said), vital))]
    rng.shuffle(out)
    return out


def _catalogue(split: Split, per_relation: int, rng: random.Random) -> list[Labelled]:
    out = []
    for relation in catalogue(split).relations:
        label = 2 if relation.key in VITAL_RELATIONS else 1
        for _ in range(per_relation):
            template = rng.choice(relation.statements)
            filled = {slot: rng.choice(values(kind, split)) for slot, kind in relation.slots.items()}
            out.append(Labelled(render(template, filled), label, "catalogue"))
    return out


def _vital(split: Split, rng: random.Random) -> str:
    template = rng.choice(_in_split(_VITAL_TEMPLATES, split))
    filled = {k: rng.choice(_in_split(v, split)) for k, v in _FILL.items()}
    filled["date"] = rng.choice(values("dates", split))
    filled["number"] = str(rng.choice(values("numbers", split)))
    return render(template, filled)


def _in_split(items: tuple[str, ...], split: Split) -> tuple[str, ...]:
    return tuple(x for i, x in enumerate(items) if (i % 4 == 3) == (split == "eval"))


def _split_of(text: str) -> Split:
    return "eval" if zlib.crc32(text.encode()) % 4 == 3 else "train"
