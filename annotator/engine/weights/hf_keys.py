"""Renaming transformers' tensor names to Meta's: ordered regex rules, MLP layers, config checks.

Shared by the SAM and SAM 2 tables (hf_format, hf_sam2). Torch-free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from annotator.engine.errors import UnknownArchitectureError

T = TypeVar("T")
_MLP = re.compile(r"^(?P<mlp>.+)\.(?:(?P<end>proj_in|proj_out)|layers\.(?P<i>\d+))\.(?P<p>\w+)$")


def rename(key: str, rules: tuple[tuple[str, str], ...]) -> str:
    """``key`` after every rule whose pattern matches it, in order."""
    for pattern, repl in rules:
        key = re.sub(pattern, repl, key)
    return key


def hf_mlps_to_engine(sd: Mapping[str, T], heads: re.Pattern[str]) -> dict[str, T]:
    """transformers' MLP (``proj_in``, ``layers.i``, ``proj_out``) -> Meta's ``layers.0..n-1``,
    for the keys whose MLP prefix matches ``heads``; other keys pass through."""
    hidden: dict[str, int] = {}
    for key in sd:
        m = _MLP.match(key)
        if m and heads.search(m["mlp"]) and m["i"] is not None:
            hidden[m["mlp"]] = max(hidden.get(m["mlp"], 0), int(m["i"]) + 1)
    out: dict[str, T] = {}
    for key, value in sd.items():
        m = _MLP.match(key)
        if not m or not heads.search(m["mlp"]):
            out[key] = value
            continue
        if m["end"] == "proj_in":
            index = 0
        elif m["end"] == "proj_out":
            index = hidden.get(m["mlp"], 0) + 1
        else:
            index = int(m["i"]) + 1
        out[f"{m['mlp']}.layers.{index}.{m['p']}"] = value
    return out


def check_fixed(config: Mapping[str, Any], fixed: Mapping[str, Mapping[str, Any]], path: Path):
    """Refuse a config whose values differ from what the engine's network is built with."""
    for section, values in fixed.items():
        part = config.get(section) or {}
        for name, want in values.items():
            if name in part and part[name] != want and not _same_number(part[name], want):
                raise UnknownArchitectureError(
                    path,
                    f"config.json sets {section}.{name} = {part[name]!r}; the engine's network "
                    f"is built with {want!r}",
                )


def _same_number(a: object, b: object) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    return isinstance(a, int | float) and isinstance(b, int | float) and float(a) == float(b)
