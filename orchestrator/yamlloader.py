"""The YAML loader every file commander reads is parsed with (see yamlfile.py).

Apart from yamlfile.py so that importing that module does not import PyYAML:
a review whose policy files are all in the cache (yamlfile.preparse) parses
no YAML, and its process need not pay for loading the parser.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader (libyaml's parser when built) that refuses duplicate mapping keys.

    Only mapping construction is ours (it is Python in both loaders), so the
    C parser keeps its speed. Keys a merge (`<<: *anchor`) brings in may be
    overridden, as YAML 1.1 says; two keys written in one mapping may not.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicates(self, node)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _refuse_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    first: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            continue  # the base constructor reports an unhashable key
        if key in first:
            was = first[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {was}); a key may appear once in a mapping",
                key_node.start_mark,
            )
        first[key] = key_node
