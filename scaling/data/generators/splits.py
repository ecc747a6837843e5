"""Problem ids, the train/held-out rule and deterministic seeds, shared by every generator.

A problem's id (``uid``) is sha256 of its canonical key (first 24 hex digits); a problem is held
out iff the first 8 bytes of ``sha256(HELDOUT_SALT + uid)``, read as a big-endian integer, are 0
mod ``HELDOUT_MODULUS`` (10: about 10% of every problem space). Generation draws problems and
rejects the ones of the other split (``BaseGenerator.generate``), so train and held-out are
disjoint by construction, for every seed and every generator parameter that does not change the
problem (e.g. the arithmetic answer format).

Determinism: problems come from ``random.Random`` seeded with ``derive_seed`` (sha256 of the
generator, split and seed) and are drawn with ``int(random() * n)`` (Python's Mersenne Twister and
IEEE doubles are the same on every platform); no salted ``hash()`` and no set iteration order
reaches the data (a test compares digests under two ``PYTHONHASHSEED`` values).
"""

from __future__ import annotations

import hashlib

from scaling.data.generators.example import Example

HELDOUT_SALT = "scaling-lab/heldout/v1/"
# 1 problem in 10 held out: a design choice (enough held-out problems to measure task accuracy,
# most of every space left for training), the same for every generator.
HELDOUT_MODULUS = 10

__all__ = [
    "HELDOUT_MODULUS",
    "HELDOUT_SALT",
    "derive_seed",
    "is_heldout",
    "is_heldout_uid",
    "problem_uid",
    "split_of",
]


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, identical in every process (sha256, never ``hash``)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def problem_uid(key: str) -> str:
    """The stable id of a problem: the first 96 bits of sha256 of its canonical key, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def is_heldout_uid(uid: str) -> bool:
    """Held-out iff ``int(sha256(HELDOUT_SALT + uid)[:8 bytes]) % 10 == 0`` (1 problem in 10)."""
    digest = hashlib.sha256((HELDOUT_SALT + uid).encode()).digest()
    return int.from_bytes(digest[:8], "big") % HELDOUT_MODULUS == 0


def is_heldout(example: Example) -> bool:
    """Whether ``example``'s problem belongs to the held-out split (any generator)."""
    return is_heldout_uid(example.uid)


def split_of(example: Example) -> str:
    """``"heldout"`` or ``"train"``: the split ``example``'s problem belongs to."""
    return "heldout" if is_heldout(example) else "train"
