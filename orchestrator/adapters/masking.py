"""Mask secrets in JSON values before anything downstream can see them.

Three rules, applied in one walk by `Masker.mask`:

1. A sensitivity mirror (Terraform's `before_sensitive`, `sensitive_values`,
   ...): wherever the mirror holds a truthy leaf, the value there is replaced
   by `SENSITIVE`, whole containers included.
2. Key names that say "secret" (`password`, `client_secret`, ...): their
   string values are masked, because old plans (Terraform 0.14) mark nothing.
3. Strings that hold credentials (AWS access key ids, PEM private keys,
   `PASSWORD=...` assignments, passwords in URLs) or that equal a value known
   to be sensitive elsewhere in the same document.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from typing import Any, cast

SENSITIVE = "(sensitive)"
# How a path names the whole value rather than a part of it.
WHOLE_VALUE = "*"

Path = tuple[str | int, ...]

DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    "password", "passwd", "passphrase", "secret", "secret_key", "client_secret", "token",
    "private_key", "access_key", "api_key", "apikey", "credential", "credentials",
    "connection_string", "account_key", "master_key", "primary_key", "secondary_key",
    "shared_key", "signing_key", "encryption_key",
)  # fmt: skip

# A key matches when it ends with a sensitive word, optionally followed by one
# of these: `secret_string` and `private_key_pem` hold secrets, while
# `secret_arn` and `password_length` only describe them.
_VALUE_SUFFIXES = (
    "s", "value", "values", "string", "data", "pem", "json", "b64", "base64", "binary", "wo",
    "plaintext", "text", "hash", "hex", "openssh", "pkcs8",
)  # fmt: skip

# Under a sensitive key, these children carry the same value (Terraform
# configuration `constant_value`, variable `default`, output `value`, ...).
_INHERITING_KEYS = frozenset({"value", "values", "default", "constant_value", "before", "after"})

# Shorter strings are neither credentials nor worth sweeping for: a two-letter
# sensitive value would otherwise mask every equal tag in the document.
_MIN_SCAN_LENGTH = 7
_MIN_SECRET_LENGTH = 6

_CREDENTIAL = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"
    r"|-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}"
    r"|\bgithub_pat_[A-Za-z0-9_]{22,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\bAIza[0-9A-Za-z_-]{35}"
    r"|\b[rs]k_live_[0-9A-Za-z]{20,}",
    re.DOTALL,
)
# `KEY=value`, `KEY: value`, `"key": "value"` where KEY names a secret. A colon
# needs a space or a quote before it so that `secretsmanager:GetSecretValue`
# in an IAM policy stays readable.
# Quantifiers are bounded so that a hostile 100 MB string costs linear time.
_ASSIGNMENT = re.compile(
    r"(?<![\w.-])(?P<key>[\w.-]{0,64}?"
    r"(?:password|passwd|passphrase|secret|token|api_?key|access_?key|private_?key)[\w.-]{0,64}?)"
    r"(?P<sep>[\"']?\s*=\s*|[\"']\s*:\s*|\s*:\s+)"
    r"(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"',;&]+))",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(
    r"\b(?P<prefix>[a-z][a-z0-9+.-]{0,30}://[^/\s:@]{1,256}:)[^/\s@]{1,256}@", re.IGNORECASE
)
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A cheap test on the lowercased string before the three scans above: most strings fail it.
_TRIGGER = re.compile(r"pass|secret|token|key|akia|asia|://|gh[pousr]_|github_pat|xox|aiza|_live_")
_UNCHANGED = object()
_NO_MASKS: dict[str, Any] = {}


def _masked_assignment(match: re.Match[str]) -> str:
    head = match["key"] + match["sep"]
    if match["dq"] is not None:
        return f'{head}"{SENSITIVE}"'
    if match["sq"] is not None:
        return f"{head}'{SENSITIVE}'"
    return head + SENSITIVE


def scrub_text(text: str) -> str:
    """Mask credentials embedded anywhere in a string (the same object if none)."""
    if len(text) < _MIN_SCAN_LENGTH:
        return text
    masked = _CREDENTIAL.sub(SENSITIVE, text)
    masked = _ASSIGNMENT.sub(_masked_assignment, masked)
    masked = _URL_PASSWORD.sub(rf"\g<prefix>{SENSITIVE}@", masked)
    return text if masked == text else masked


def format_path(path: Path) -> str:
    """Render a path as dotted text: `tags."kubernetes.io/role"`, `ebs.0.kms_key`."""
    if not path:
        return WHOLE_VALUE
    return ".".join(
        str(step) if isinstance(step, int) or _SIMPLE_KEY.fullmatch(step) else json.dumps(step)
        for step in path
    )


def _is_marked(mask: object) -> bool:
    # Any truthy leaf counts, not only `true`: a malformed mirror must not unmask.
    return not isinstance(mask, dict | list) and bool(mask)


def true_paths(mask: object) -> list[str]:
    """Sorted dotted paths of the truthy leaves of a mirror (e.g. `after_unknown`)."""
    if not mask:
        return []
    found: list[str] = []
    pending: list[tuple[object, Path]] = [(mask, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, dict):
            pending.extend((child, (*path, key)) for key, child in node.items() if child)
        elif isinstance(node, list):
            pending.extend((child, (*path, index)) for index, child in enumerate(node) if child)
        else:
            found.append(format_path(path))
    return sorted(found)


def collect_marked_strings(value: object, mask: object, sink: set[str]) -> None:
    """Add every string the mirror marks sensitive to `sink` (for the sweep)."""
    if _is_marked(mask):
        _all_strings(value, sink)
    # A falsy mirror (an empty `before_sensitive`, say) marks nothing below it: skipped.
    elif isinstance(mask, dict) and isinstance(value, dict):
        for key, child_mask in mask.items():
            if child_mask and key in value:
                collect_marked_strings(value[key], child_mask, sink)
    elif isinstance(mask, list) and isinstance(value, list):
        for child, child_mask in zip(value, mask, strict=False):
            if child_mask:
                collect_marked_strings(child, child_mask, sink)


def _all_strings(value: object, sink: set[str]) -> None:
    if isinstance(value, str):
        if len(value) >= _MIN_SECRET_LENGTH:
            sink.add(value)
    elif isinstance(value, dict):
        for child in value.values():
            _all_strings(child, sink)
    elif isinstance(value, list):
        for child in value:
            _all_strings(child, sink)


class Masker:
    """Replace secrets in JSON values by `SENSITIVE`, recording where."""

    def __init__(
        self,
        sensitive_keys: Iterable[str] = DEFAULT_SENSITIVE_KEYS,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        words = sorted({_normalise(key) for key in sensitive_keys} - {""}, key=len, reverse=True)
        suffixes = "|".join(_VALUE_SUFFIXES)
        pattern = "|".join(re.escape(word) for word in words)
        self._key_pattern = re.compile(f"(?:{pattern})(?:{suffixes})?$") if words else None
        self._key_cache: dict[str, bool] = {}
        # Known secrets are swept by the scrub cache: an equal string anywhere is masked.
        self._scrubbed: dict[str, object] = {
            secret: SENSITIVE for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH
        }
        # The plain walks' fast path, one set lookup each: keys known not to be sensitive,
        # and strings known to come out of `scrub` unchanged.
        self._safe_keys: set[str] = set()
        self._clean: set[str] = set()
        # The longest path to a container walked so far: an adapter that trusts the masked
        # values as models (no validation copy) checks they are shallow enough to store.
        self.deepest = 0

    def is_sensitive_key(self, key: str) -> bool:
        """Whether a key's name says its value is a secret."""
        known = self._key_cache.get(key)
        if known is None:
            known = bool(self._key_pattern and self._key_pattern.search(_normalise(key)))
            self._key_cache[key] = known
            if not known:
                self._safe_keys.add(key)
        return known

    def mask(self, value: Any, mask: object = None, *, paths: list[Path] | None = None) -> Any:
        """Return a masked copy of `value`; append the path of each masked part to `paths`."""
        return self._walk(copy.deepcopy(value), mask, False, [], paths)

    def mask_in_place(
        self, value: Any, mask: object = None, *, paths: list[Path] | None = None
    ) -> Any:
        """Mask `value` by replacing secrets inside its own containers; return it.

        For documents just parsed and owned by the caller: a copy of a 100 MB
        plan costs more than the masking itself.
        """
        return self._walk(value, mask, False, [], paths)

    def scrub(self, text: str) -> str:
        """Mask a string by content alone: a known secret, or credentials inside it."""
        cached = self._scrubbed.get(text)
        if cached is None:
            cached = _UNCHANGED
            if len(text) >= _MIN_SCAN_LENGTH and _TRIGGER.search(text.lower()):
                masked = scrub_text(text)
                cached = _UNCHANGED if masked is text else masked
            # Plans repeat most strings (planned_values, prior_state, tags): scan each once.
            self._scrubbed[text] = cached
            if cached is _UNCHANGED:
                self._clean.add(text)
        return text if cached is _UNCHANGED else cast(str, cached)

    def _walk(
        self,
        value: Any,
        mask: object,
        inherited: bool,
        stack: list[str | int],
        paths: list[Path] | None,
    ) -> Any:
        if mask is not None and _is_marked(mask):
            if value is None:
                return None
            if paths is not None:
                paths.append(tuple(stack))
            return SENSITIVE
        if len(stack) > self.deepest and isinstance(value, dict | list):
            self.deepest = len(stack)
        if isinstance(value, dict):
            if mask or inherited:
                self._dict(value, mask, inherited, stack, paths)
            else:
                self._plain_dict(value, stack, paths)
        elif isinstance(value, list):
            if not mask and not inherited:
                self._plain_list(value, stack, paths)
                return value
            child_list = mask if isinstance(mask, list) else ()
            for index, item in enumerate(value):
                stack.append(index)
                child_mask = child_list[index] if index < len(child_list) else None
                masked = self._walk(item, child_mask, inherited, stack, paths)
                if masked is not item:
                    value[index] = masked
                stack.pop()
        elif isinstance(value, str):
            masked = SENSITIVE if inherited and value else self.scrub(value)
            if masked is not value and paths is not None:
                paths.append(tuple(stack))
            return masked
        return value

    def _dict(
        self,
        value: dict[str, Any],
        mask: object,
        inherited: bool,
        stack: list[str | int],
        paths: list[Path] | None,
    ) -> None:
        """Mask an object under a mirror or a sensitive key; unmarked parts go plain."""
        if len(stack) > self.deepest:  # noqa: PLR1730 - the hot path: no call, no store
            self.deepest = len(stack)
        child_masks: dict[str, Any] = mask if isinstance(mask, dict) else _NO_MASKS
        key_cache = self._key_cache
        scrubbed = self._scrubbed
        for key, item in value.items():
            if item is None:
                continue
            child_mask = child_masks.get(key)
            kind = type(item)
            if child_mask and not isinstance(child_mask, dict | list):
                masked: Any = SENSITIVE  # a marked leaf of the mirror (see _is_marked)
            elif kind is str or (kind is not dict and kind is not list and isinstance(item, str)):
                sensitive = key_cache.get(key)
                if sensitive is None:
                    sensitive = self.is_sensitive_key(key)
                if item and (sensitive or (inherited and key in _INHERITING_KEYS)):
                    masked = SENSITIVE
                else:
                    cached = scrubbed.get(item)
                    if cached is _UNCHANGED:
                        continue
                    masked = self.scrub(item) if cached is None else cached
            elif kind is dict or kind is list or isinstance(item, dict | list):
                sensitive = key_cache.get(key)
                if sensitive is None:
                    sensitive = self.is_sensitive_key(key)
                sensitive = sensitive or (inherited and key in _INHERITING_KEYS)
                stack.append(key)
                if sensitive or child_mask:
                    self._walk(item, child_mask, sensitive, stack, paths)
                elif kind is dict:
                    # a falsy mirror marks nothing below it
                    self._plain_dict(item, stack, paths)
                else:
                    self._walk(item, None, False, stack, paths)
                stack.pop()
                continue
            else:
                continue
            if masked is not item:
                value[key] = masked
                if paths is not None:
                    paths.append((*stack, key))

    def _plain_dict(
        self, value: dict[str, Any], stack: list[str | int], paths: list[Path] | None
    ) -> None:
        """Mask an object no mirror marks and no sensitive key encloses.

        The hot loop of a large plan, run for hundreds of thousands of values:
        exact JSON types are told apart by identity, a key seen before to be
        safe and a string seen before to be clean cost one set lookup each,
        and only what changes is written back.
        """
        if len(stack) > self.deepest:  # noqa: PLR1730 - the hot path: no call, no store
            self.deepest = len(stack)
        safe, clean = self._safe_keys, self._clean
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                if key in safe and item in clean:
                    continue
                if not item:
                    continue  # nothing to mask in an empty string
                masked: Any = SENSITIVE if self.is_sensitive_key(key) else self.scrub(item)
            elif kind is dict or kind is list:
                stack.append(key)
                if key not in safe and self.is_sensitive_key(key):
                    self._walk(item, None, True, stack, paths)
                elif kind is dict:
                    self._plain_dict(item, stack, paths)
                else:
                    self._plain_list(item, stack, paths)
                stack.pop()
                continue
            elif item is None or kind is int or kind is float or kind is bool:
                continue
            else:
                # a subclass of a JSON type: the general walk tells it by isinstance
                single = {key: item}
                self._dict(single, None, False, stack, paths)
                if single[key] is not item:
                    value[key] = single[key]
                continue
            if masked is not item:
                value[key] = masked
                if paths is not None:
                    paths.append((*stack, key))

    def _plain_list(
        self, value: list[Any], stack: list[str | int], paths: list[Path] | None
    ) -> None:
        """Mask a list no mirror marks and no sensitive key encloses (see `_plain_dict`)."""
        if len(stack) > self.deepest:  # noqa: PLR1730 - the hot path: no call, no store
            self.deepest = len(stack)
        clean = self._clean
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str:
                if item in clean:
                    continue
                masked = self.scrub(item)
                if masked is item:
                    continue
                value[index] = masked
                if paths is not None:
                    paths.append((*stack, index))
                continue
            if kind is int or kind is float or kind is bool or item is None:
                continue
            stack.append(index)
            if kind is dict:
                self._plain_dict(item, stack, paths)
            elif kind is list:
                self._plain_list(item, stack, paths)
            else:
                masked = self._walk(item, None, False, stack, paths)
                if masked is not item:
                    value[index] = masked
            stack.pop()


# str.isalnum() is \w without the underscore: a key's letters and digits, in any script.
_NOT_ALNUM = re.compile(r"[\W_]+")


def _normalise(key: str) -> str:
    return _NOT_ALNUM.sub("", key.lower())
