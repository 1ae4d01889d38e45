"""Which services own a resource address: `owns` globs, looked up without trying each one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

# Only `*` and `?` are wildcards: brackets are literal, because Terraform
# addresses carry them (`aws_iam_role.x["k"]`, `aws_instance.web[0]`).


class OwnerIndex:
    """Finds the services owning an address without trying every glob.

    Exact addresses go in a dict; wildcard globs are bucketed by their
    literal prefix, so a lookup tries only the globs whose prefix the address
    starts with. `module.a.*` and `aws_iam_role.x[*]` are globs;
    `aws_iam_role.x["k"]` is an exact address. A glob with one `*` and no `?`
    (nearly all of them) is matched by its prefix and suffix alone: compiling
    a regular expression for each of 10,000 module globs would cost a second.
    """

    def __init__(
        self, owns: Mapping[str, Iterable[str]] | Iterable[tuple[str, Iterable[str]]]
    ) -> None:
        self._exact: dict[str, list[str]] = {}
        # prefix -> (suffix of a one-star glob, or None, the fnmatch pattern, service)
        self._by_prefix: dict[str, list[tuple[str | None, str, str]]] = {}
        exact, by_prefix = self._exact, self._by_prefix
        for service, globs in owns.items() if isinstance(owns, Mapping) else owns:
            for glob in globs:
                star, mark = glob.find("*"), glob.find("?")
                cut = star if mark < 0 else mark if star < 0 else min(star, mark)
                if cut < 0:
                    exact.setdefault(glob, []).append(service)
                    continue
                rest = glob[cut + 1 :]
                suffix = rest if mark < 0 and "*" not in rest else None
                pattern = glob.replace("[", "[[]")  # a literal bracket for fnmatch
                by_prefix.setdefault(glob[:cut], []).append((suffix, pattern, service))
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    def owners(self, address: str) -> set[str]:
        """Every service one of whose globs matches the address."""
        found = set(self._exact.get(address, ()))
        size = len(address)
        for length in self._prefix_lengths:
            if length > size:
                break
            for suffix, pattern, service in self._by_prefix.get(address[:length], ()):
                if suffix is not None:
                    if size >= length + len(suffix) and address.endswith(suffix):
                        found.add(service)
                elif fnmatchcase(address, pattern):
                    found.add(service)
        return found

    def state(self) -> tuple[object, ...]:
        """The index as plain data, for `from_state` (the topology cache stores it)."""
        return self._exact, self._by_prefix, self._prefix_lengths

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> OwnerIndex:
        """The index `state` describes, without indexing the globs again."""
        index = object.__new__(cls)
        index._exact, index._by_prefix, index._prefix_lengths = state
        return index
