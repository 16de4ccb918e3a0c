"""Dotted paths into the case document: ``mother.id_number``, ``newborns[0].born_at`` (or
``newborns.0.born_at``). Used by every form that maps its fields onto the document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_parts(path: str) -> list[str | int]:
    """``newborns[0].born_at`` or ``newborns.0.born_at`` → ``["newborns", 0, "born_at"]``."""
    return [
        int(index) if index else (int(key) if key.isdigit() else key)
        for key, index in _PART.findall(path)
    ]


def get_path(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path_parts(path):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def put_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Set a value; None or "" removes it. Missing sections (objects, list entries) are
    created on the way."""
    parts = path_parts(path)
    node: Any = document
    for position, part in enumerate(parts[:-1]):
        following = parts[position + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            if not isinstance(node, list):
                return
            while len(node) <= part:
                node.append({})
            if not isinstance(node[part], dict | list):
                node[part] = empty
            node = node[part]
        else:
            if not isinstance(node, dict):
                return
            if not isinstance(node.get(part), dict | list):
                node[part] = empty
            node = node[part]
    last = parts[-1]
    if isinstance(last, str) and isinstance(node, dict):
        if value is None or value == "":
            node.pop(last, None)
        else:
            node[last] = value
