"""The source documents (rules/sources/*.txt) that every citation quotes word for word."""
from __future__ import annotations

import re


def fold(text: str) -> str:
    """White space folded, as the citation checker compares it."""
    return re.sub(r"\s+", " ", text).strip()


class Sources:
    def __init__(self, documents: dict[str, str]):
        self.documents = documents
        self._folded = {name: fold(text) for name, text in documents.items()}

    def __contains__(self, name: str) -> bool:
        return name in self.documents

    def names(self) -> list[str]:
        return sorted(self.documents)

    def quotes(self, name: str, quote: str) -> bool:
        """True when `quote` stands word for word (white space folded) in document `name`."""
        return fold(quote) in self._folded.get(name, "")
