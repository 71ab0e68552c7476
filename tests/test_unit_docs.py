"""docs/ARCHITECTURE.md stays true: its error tree is the one ``janus_fast.errors`` defines.

Rule: Janus-free; the tree is generated here from the classes themselves and compared with the
block between the ``error-tree`` markers (regenerate the block from ``error_tree()`` when an
error class is added, moved or removed).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import janus_fast.errors as errors_module

DOC = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"


def error_tree() -> str:
    """The exception tree of ``janus_fast.errors`` as text: each class under its first base in
    the module; other bases named after it as ``(also ...)``."""
    classes = [
        cls
        for _, cls in inspect.getmembers(errors_module, inspect.isclass)
        if cls.__module__ == errors_module.__name__ and issubclass(cls, BaseException)
    ]
    ours = set(classes)

    def parent(cls: type) -> type | None:
        return next((base for base in cls.__bases__ if base in ours), None)

    lines: list[str] = []

    def show(cls: type, prefix: str, last: bool, top: bool) -> None:
        first = parent(cls)
        # By name, once: on Python 3.10 asyncio.TimeoutError is a second "TimeoutError" base.
        others = list(dict.fromkeys(base.__name__ for base in cls.__bases__ if base is not first))
        if top:
            label = f"{cls.__name__}  ({', '.join(others)})" if others else cls.__name__
            lines.append(label)
            child_prefix = ""
        else:
            label = f"{cls.__name__}  (also {', '.join(others)})" if others else cls.__name__
            lines.append(prefix + ("└── " if last else "├── ") + label)
            child_prefix = prefix + ("    " if last else "│   ")
        children = sorted((c for c in classes if parent(c) is cls), key=lambda c: c.__name__)
        for index, child in enumerate(children):
            show(child, child_prefix, index == len(children) - 1, False)

    for root in sorted((c for c in classes if parent(c) is None), key=lambda c: c.__name__):
        show(root, "", True, True)
    return "\n".join(lines)


def documented_tree() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- error-tree:start -->", 1)[1].split("<!-- error-tree:end -->", 1)[0]
    return block.strip().removeprefix("```").removesuffix("```").strip("\n")


def test_architecture_error_tree_matches_janus_fast_errors() -> None:
    assert documented_tree() == error_tree()


def test_the_tree_shows_every_error_class_once_under_one_root() -> None:
    lines = error_tree().splitlines()
    shown = [line.lstrip("│├└─ ").split()[0] for line in lines]
    names = [
        name
        for name, cls in inspect.getmembers(errors_module, inspect.isclass)
        if cls.__module__ == errors_module.__name__ and issubclass(cls, BaseException)
    ]
    assert sorted(shown) == sorted(names)
    assert shown[0] == "JanusFastError" and not lines[1].startswith(" ")
