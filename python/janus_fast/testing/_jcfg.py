"""Render Janus ``.jcfg`` (libconfig) files from plain Python values.

Rule: this module only turns dicts into text; it knows nothing about which settings Janus needs.
Strings are always quoted and escaped, so no value can inject syntax into a config file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

JcfgValue = str | int | bool | float | Sequence["JcfgValue"] | Mapping[str, "JcfgValue"]


def _scalar(value: JcfgValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, Sequence):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    raise TypeError(f"unsupported jcfg value type {type(value).__name__}")


def _render_group(group: Mapping[str, JcfgValue], indent: int) -> list[str]:
    pad = "\t" * indent
    lines: list[str] = []
    for key, value in group.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}: {{")
            lines.extend(_render_group(value, indent + 1))
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{key} = {_scalar(value)}")
    return lines


def render(document: Mapping[str, Mapping[str, JcfgValue]]) -> str:
    """Render top-level groups (``general: {...}`` etc.) into libconfig text."""
    return "\n".join(_render_group(document, 0)) + "\n"
