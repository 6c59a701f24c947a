"""Values a caller chooses that travel in HTTP headers (an Idempotency-Key, an assessment's subject): printable
ASCII, no space at either end (HTTP drops those), of bounded length. One check and one OpenAPI pattern for all."""
from __future__ import annotations

#: The characters such a value may hold, as the OpenAPI description states them.
PATTERN = r"^[!-~]([ -~]*[!-~])?$"


def fits(value: str, max_length: int) -> bool:
    """Whether `value` can travel in a header unchanged: 1 to `max_length` printable ASCII characters, no space at
    either end."""
    return (1 <= len(value) <= max_length and all(" " <= c <= "~" for c in value)
            and value == value.strip(" "))
