"""Who a name is: the one rule every actor, approver, submitter and freeze name goes through.

Two names are the same person when they look the same. A name is compared by
its key, built in two Unicode-defined steps (ICU, the Unicode Consortium's
reference implementation, does both):

1. NFKC_Casefold (UAX #15, #31): compatibility forms folded (full-width
   `ｄｏｃｓ` is `docs`), default-ignorable code points removed (zero-width
   space, soft hyphen, joiners, variation selectors), case folded.
2. The confusable skeleton of UTS #39 (confusables.txt): characters that look
   alike map to one prototype, so Cyrillic `а` is Latin `a` and U+2010 `‐` is
   `-`. The skeleton is folded again until nothing changes, so the key of a
   key is itself.

A name is refused, before anything is stored, when it is blank once those
characters are gone, or when it mixes scripts beyond UTS #39's "highly
restrictive" level (Latin with Cyrillic, say; Latin with Han and kana is
fine). What the user typed is kept for display; only comparisons use keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from orchestrator.errors import IdentityError

# Enough rounds for any name: a skeleton is made of prototypes, which fold to themselves.
_MAX_ROUNDS = 4


@cache
def _icu() -> tuple[Any, Any]:
    """ICU's NFKC_Casefold normaliser and a UTS #39 spoof checker, loaded on first use."""
    import icu  # noqa: PLC0415 - a C extension: kept off paths that never compare names

    checker = icu.SpoofChecker()
    checker.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.MIXED_NUMBERS)
    checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
    return icu.Normalizer2.getNFKCCasefoldInstance(), checker


def folded(name: str) -> str:
    """NFKC_Casefold of the name, trimmed: compatibility forms, ignorables and case gone."""
    return str(_icu()[0].normalize(name)).strip()


@lru_cache(maxsize=4096)
def key(name: str) -> str:
    """The compared form of a name: two names with one key are one identity."""
    current = folded(name)
    for _ in range(_MAX_ROUNDS):
        following = folded(str(_icu()[1].getSkeleton(0, current)))
        if following == current:
            break
        current = following
    return current


def same(a: str, b: str) -> bool:
    """Whether two names are one identity."""
    return key(a) == key(b)


def among(name: str, names: Iterable[str]) -> list[str]:
    """The names of `names` that are the same identity as `name`, in their order."""
    wanted = key(name)
    return [n for n in names if key(n) == wanted]


def checked(name: str, field: str) -> str:
    """The name as typed (trimmed), refused when blank or of deceptively mixed scripts.

    `field` names where the name came from (`--actor`, `actor`, ...), for the message.
    """
    text = name.strip()
    shown = folded(text)
    if not shown:
        raise IdentityError(f"{field} must not be blank (invisible characters do not count)")
    if _icu()[1].check(shown):
        raise IdentityError(
            f"{field} {text!r} mixes scripts or digit systems that look alike "
            "(e.g. Latin with Cyrillic); write it in one script"
        )
    return text
