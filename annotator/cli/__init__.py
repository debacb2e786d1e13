"""The `annotator` command line: one module per sub-command, each registering itself below.

``gui``, ``amg`` (writers in ``amg_outputs``), ``segment``, ``track`` (prompts in
``track_prompts``, its output in ``track_output``), ``import_`` (``annotator import``),
``export``, ``export_onnx``, ``evaluate`` and ``models``; ``_common`` holds what they share
(model options, image listing, the failure report). ``amg`` and ``segment`` hand
their per-image work (``amg_job``, ``segment_job``) to ``batch_run``, which runs it here or,
with ``--ray`` (``ray_options``), on Ray through ``annotator.distributed``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from annotator import __version__

# Each module exposes `register(subparsers)`, which adds its sub-command and sets
# `func(args) -> int` as the handler. Imports stay lazy so `annotator --help` is fast.
COMMAND_MODULES: tuple[str, ...] = (
    "gui", "amg", "segment", "track", "import_", "export", "export_onnx", "evaluate", "models",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="annotator",
        description="Segment objects with Segment Anything models and build training datasets.",
    )
    parser.add_argument("--version", action="version", version=f"annotator {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"annotator.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv and "gui" in COMMAND_MODULES:
        argv = ["gui"]  # plain `annotator` opens the app on the bundled sample data
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)
