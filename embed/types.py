"""The inputs of one EMBED(...) call: terms (text or image, with a weight) and the query holding them."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# what an EMBED argument is (a statement's kind is sqlext.text.kinds.Kind)
TermKind = Literal["text", "image", "auto"]
KINDS = ("text", "image", "auto")


@dataclass(frozen=True)
class Term:
    """One argument of EMBED: `kind` "auto" is resolved by `embed.resolve_kind(value)`."""

    kind: TermKind
    value: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Term.kind must be one of {KINDS}, not {self.kind!r}")
        if not isinstance(self.value, str):
            raise TypeError(f"Term.value must be a str, not {type(self.value).__name__}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)):
            raise TypeError(f"Term.weight must be a number, not {type(self.weight).__name__}")
        if not math.isfinite(self.weight):
            raise ValueError(f"Term.weight must be finite, not {self.weight!r}")


@dataclass(frozen=True)
class EmbedQuery:
    """One EMBED(...) call: its terms in order."""

    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.terms, tuple):
            object.__setattr__(self, "terms", tuple(self.terms))

    @classmethod
    def of(cls, *values: str | Term) -> "EmbedQuery":
        """Shorthand: EmbedQuery.of("a cat", "https://x/y.jpg", Term("text", "dog", -0.5))."""
        return cls(tuple(v if isinstance(v, Term) else Term("auto", v) for v in values))

    def describe(self) -> str:
        """How the call reads in SQL, for error messages: EMBED('a cat', image('x.jpg'))."""
        parts = []
        for t in self.terms:
            s = repr(t.value) if t.kind == "auto" else f"{t.kind}({t.value!r})"
            if t.weight != 1.0:
                s = f"{s} * {t.weight:g}"
            parts.append(s)
        return f"EMBED({', '.join(parts)})"
