"""`annotator gui [PATH]`: the desktop app. A video file, or a frame folder with
``--sequence``, opens as a sequence project (`open_sequence`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from annotator.cli._common import add_model_options, error


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop annotation app",
        description="Open the desktop app on an image, a folder or a project JSON "
        "(default: the bundled sample_data/ folder). The project file defaults to "
        "annotations.json in the folder. A video file (mp4, avi, mov, mkv...) opens as a "
        "sequence: its frames are extracted next to it (clip.mp4 -> clip/00000.jpg...) "
        "and the project is clip.json.",
    )
    p.add_argument("path", nargs="?", help="image, folder, video or project .json to open")
    p.add_argument(
        "--sequence", action="store_true",
        help="open a folder of frames as one sequence (frames with video and frame_index)",
    )  # fmt: skip
    add_model_options(p)
    p.add_argument(
        "--images-root", metavar="DIR", default=None,
        help="the project's images folder, when it is not inside the project file's folder",
    )  # fmt: skip
    p.set_defaults(func=_run)


def open_sequence(path: Path) -> Path:
    """The project file the app opens for a video file (frames extracted first, resumably)
    or a frame folder; created with every frame when it does not exist yet."""
    from tqdm import tqdm

    from annotator.gui.session.sequence_open import open_sequence as open_in_app

    if path.is_dir():
        return open_in_app(path)
    with tqdm(unit="frame", desc=f"extracting {path.name}", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(1)

        return open_in_app(path, progress)


def _run(args: argparse.Namespace) -> int:
    from annotator.gui.app import run_app
    from annotator.io.frames import is_video_file

    path = args.path
    if path is not None and (args.sequence or is_video_file(path)):
        try:
            path = str(open_sequence(Path(path)))
        except (ValueError, OSError) as exc:  # FrameSourceError, ProjectLoadError
            return error(str(exc))
    return run_app(
        path, args.checkpoint, args.model_type, args.device, args.dtype, args.images_root
    )
