"""`annotator gui [PATH]`: the desktop app."""

from __future__ import annotations

import argparse

from annotator.cli._common import add_model_options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop annotation app",
        description="Open the desktop app on an image, a folder or a project JSON "
        "(default: the bundled sample_data/ folder). The project file defaults to "
        "annotations.json in the folder.",
    )
    p.add_argument("path", nargs="?", help="image, folder or project .json to open")
    add_model_options(p)
    p.add_argument(
        "--images-root", metavar="DIR", default=None,
        help="the project's images folder, when it is not inside the project file's folder",
    )  # fmt: skip
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from annotator.gui.app import run_app

    return run_app(
        args.path, args.checkpoint, args.model_type, args.device, args.dtype, args.images_root
    )
