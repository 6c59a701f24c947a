"""Which business an assessment is about: the caller's `subject` (a customer id, say), else the digest of the
profile as stated. The key groups the decision log by business, so a portfolio impact re-evaluates each
business's latest profile once (service/impact/)."""
from __future__ import annotations

import hashlib

from service import header_values

SUBJECT_MAX_LENGTH = 128
DIGEST_PREFIX = "sha256:"  # a business without a subject is known by its profile's digest
SUBJECT_RULE = (f"1 to {SUBJECT_MAX_LENGTH} printable ASCII characters (it travels in a header), no space at "
                f"either end, not starting with {DIGEST_PREFIX!r}")


def subject_problem(subject: str) -> str | None:
    """What is wrong with a caller's subject, or None when it is allowed."""
    if not header_values.fits(subject, SUBJECT_MAX_LENGTH):
        return f"not {SUBJECT_RULE}"
    if subject.startswith(DIGEST_PREFIX):
        return f"reserved for businesses without a subject; expected {SUBJECT_RULE}"
    return None


def key(subject: str | None, stated_profile: str) -> str:
    """The business an assessment is about: its subject, else the SHA-256 of its profile as stated."""
    if subject:
        return subject
    return DIGEST_PREFIX + hashlib.sha256(stated_profile.encode("utf-8")).hexdigest()
