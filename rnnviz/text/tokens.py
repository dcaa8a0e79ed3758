"""Text → tokens → indices: the tokenizer and the vocabulary, as plain records.

No torch here: the window can tokenize and show the vocabulary table while torch still loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TOKENIZERS = ("chars", "words")
VOCAB_ORDERS = ("sorted", "first")
PAD = "<pad>"
UNK = "<unk>"


class VocabularyError(ValueError):
    """A token is not in the vocabulary (and it has no <unk>), or a vocabulary dict is bad."""


def tokenize(text: str, mode: str = "chars") -> list[str]:
    """The tokens of `text`: a list of str.

    - "chars": one token per character (a Chinese character is one character, so one token);
      whitespace characters are tokens too, because "hello world" → next-char must predict
      the space.
    - "words": maximal runs of non-whitespace (str.split()), so punctuation stays attached.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if mode == "chars":
        return list(text)
    if mode == "words":
        return text.split()
    raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {mode!r}")


def join_tokens(tokens: Iterable[str], mode: str) -> str:
    """The string a token list reads as: chars joined with nothing, words with one space."""
    return ("" if mode == "chars" else " ").join(tokens)


@dataclass(frozen=True)
class Vocabulary:
    """An ordered token ↔ index table.

    `tokens[i]` is the token of index i. When `pad` is set, "<pad>" is index 0 (the value
    pad_sequence fills with); when `unk` is set, "<unk>" follows it and stands for every
    token not in the table. `counts[i]` is how often token i occurs in the text it was
    built from (0 for the specials).
    """

    tokens: tuple[str, ...]
    counts: tuple[int, ...]
    pad: bool = False
    unk: bool = False

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.counts):
            raise VocabularyError("tokens and counts must have the same length")
        if len(set(self.tokens)) != len(self.tokens):
            raise VocabularyError("tokens must be distinct")
        specials = [PAD] * self.pad + [UNK] * self.unk
        if list(self.tokens[: len(specials)]) != specials:
            raise VocabularyError(f"the vocabulary must start with {specials}")
        # A dict for O(1) lookups; frozen, so write through object.__setattr__.
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        order: str = "sorted",
        pad: bool = False,
        unk: bool = False,
    ) -> Vocabulary:
        """A vocabulary of every token in `sequences`, specials first.

        order "sorted" sorts by code point — for "hello"/"ohlol" that is e h l o, the
        tutorial's idx2char; "first" keeps first-appearance order.
        """
        if order not in VOCAB_ORDERS:
            raise ValueError(f"vocab order must be one of {', '.join(VOCAB_ORDERS)}, got {order!r}")
        counter: Counter[str] = Counter()
        for seq in sequences:
            counter.update(seq)
        for special in (PAD, UNK):
            # A text may literally contain "<pad>" as a word; it must not become a second pad.
            counter.pop(special, None)
        words = sorted(counter) if order == "sorted" else list(counter)
        specials = [PAD] * pad + [UNK] * unk
        return cls(
            tuple(specials + words),
            tuple([0] * len(specials) + [counter[w] for w in words]),
            pad,
            unk,
        )

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_index(self) -> int | None:
        """0 when the vocabulary has <pad>, else None."""
        return 0 if self.pad else None

    @property
    def unk_index(self) -> int | None:
        """The index of <unk>, or None when there is none."""
        return int(self.pad) if self.unk else None

    def index(self, token: str) -> int:
        """The index of `token`; an unknown token gives <unk>'s index or VocabularyError."""
        i = self._index.get(token)  # type: ignore[attr-defined]
        if i is not None:
            return i
        if self.unk:
            return int(self.pad)
        raise VocabularyError(f"token {token!r} is not in the vocabulary (and it has no <unk>)")

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """The index of every token: a list of int, one per token."""
        return [self.index(t) for t in tokens]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """The token of every index: a list of str."""
        return [self.tokens[int(i)] for i in indices]

    def rows(self) -> list[tuple[int, str, int]]:
        """The table the window shows: (index, token, count) per entry, in index order."""
        return [(i, t, c) for i, (t, c) in enumerate(zip(self.tokens, self.counts))]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; `from_dict` inverts it."""
        return {
            "tokens": list(self.tokens),
            "counts": list(self.counts),
            "pad": self.pad,
            "unk": self.unk,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Vocabulary:
        """Inverse of `to_dict`; anything malformed raises VocabularyError."""
        if not isinstance(data, dict) or set(data) != {"tokens", "counts", "pad", "unk"}:
            raise VocabularyError("a vocabulary must be a dict with tokens, counts, pad, unk")
        tokens, counts = data["tokens"], data["counts"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise VocabularyError("vocabulary tokens must be a list of strings")
        if not isinstance(counts, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts
        ):
            raise VocabularyError("vocabulary counts must be a list of whole numbers >= 0")
        if not isinstance(data["pad"], bool) or not isinstance(data["unk"], bool):
            raise VocabularyError("vocabulary pad and unk must be true or false")
        return cls(tuple(tokens), tuple(counts), data["pad"], data["unk"])
