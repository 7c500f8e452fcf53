"""A line of dialogue: who said it (the user, the bot, or memory as a knowledge-base line) and its text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Speaker = Literal["user", "bot", "kb"]


@dataclass(frozen=True)
class Line:
    speaker: Speaker
    text: str
