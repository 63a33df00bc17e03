"""Reading a space file, which may come from anyone: a size limit before parsing, YAML without
anchors, aliases or duplicate keys, and TOML (which refuses duplicate keys itself).

An alias-laden YAML file of a few hundred bytes can expand to gigabytes, and a duplicate key
silently hides the value the author meant; both are refused with a message naming the line.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from robot6_sb3.errors import UsageError

MAX_SPACE_FILE_BYTES = 64 * 1024
"""A space file is a few dozen lines; anything beyond this is refused unread."""
SUFFIXES = (".yaml", ".yml", ".toml")

_MERGE_TAG = "tag:yaml.org,2002:merge"


class SpaceLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors, aliases and merge keys, and with duplicate keys
    refused instead of the last one winning."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            # Refused before anything is expanded: this is what stops an alias bomb.
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                raise yaml.constructor.ConstructorError(
                    None, None, "merge keys (<<) are not allowed", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


def _read_text(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPACE_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the space file {path}: {exc.strerror}") from None
    if len(data) > MAX_SPACE_FILE_BYTES:
        raise UsageError(
            f"the space file {path} is larger than {MAX_SPACE_FILE_BYTES // 1024} KiB; a space "
            "file is a few dozen lines (see examples/sweep_space.yaml)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the space file {path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#x})"
        ) from None


def read_space_file(path: Path) -> Any:
    """The parsed content of a ``.yaml``/``.yml`` or ``.toml`` space file.

    :raises UsageError: when the file is missing, too big, not text, unparsable, or uses
        anchors, aliases, merge keys or a key twice
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise UsageError(f"{path}: a space file ends in .yaml, .yml or .toml")
    text = _read_text(path)
    kind = "TOML" if path.suffix == ".toml" else "YAML"
    try:
        if kind == "YAML":
            return yaml.load(text, Loader=SpaceLoader)  # SpaceLoader is a SafeLoader
        import tomllib

        return tomllib.loads(text)
    except RecursionError:
        raise UsageError(f"{path} is nested too deeply to be a space file") from None
    except (yaml.YAMLError, ValueError) as exc:
        # tomllib's errors are ValueErrors; so is an integer too long to convert.
        raise UsageError(f"{path} is not valid {kind}: {exc}") from None
