"""The word vocabulary shared by the reader and the generator: words <-> ids, with a reserved padding id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD = "<pad>"  # id 0: the nil word. Its embedding stays zero, so padding adds nothing to a bag of words.
UNK = "<unk>"  # id 1: any word not seen when the vocabulary was built


@dataclass(frozen=True)
class Vocab:
    """An immutable word list; a word's id is its position. Ids 0 and 1 are always PAD and UNK."""

    words: tuple[str, ...]
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.words[:2] != (PAD, UNK):
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {self.words[:2]!r}")
        if len(set(self.words)) != len(self.words):
            raise ValueError("a vocabulary lists each word once")
        object.__setattr__(self, "_ids", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def build(cls, tokens: Iterable[str]) -> Vocab:
        """A vocabulary of the distinct tokens, sorted so the same corpus always gives the same ids."""
        distinct = sorted(set(tokens) - {PAD, UNK})
        return cls((PAD, UNK, *distinct))

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._ids

    def id(self, word: str) -> int:
        return self._ids.get(word, 1)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self._ids.get(t, 1) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[i] for i in ids if i != 0]

    def to_list(self) -> list[str]:
        """The plain form stored in checkpoints."""
        return list(self.words)

    @classmethod
    def from_list(cls, words: Sequence[str]) -> Vocab:
        return cls(tuple(words))
