"""Models and helpers for the --ray tests that Ray's worker processes import by name.

Functions handed to a Ray job travel by reference (module + name), so they live in this
importable module, not in a test file or a fixture closure. The workers find it through the
PYTHONPATH the Ray fixtures set.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KILL_SWITCH = "kill-one-worker"  # in the output's folder: the first worker to see it dies
SLOW_S = 0.5  # per image, for the Ctrl+C test: the run must still be going when it comes


def tiny_predictor(args: Any) -> Any:
    """The seeded tiny segment-anything model of the other CLI tests (`tiny_model`)."""
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    return SamPredictor(tiny_sam(seed=0))


def kill_once_predictor(args: Any) -> Any:
    """The tiny model, but the first worker to encode an image while the kill switch (a file
    in the output's folder) exists removes it and SIGKILLs its own process, like an OOM kill
    or a lost node."""
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    switch = Path(args.output).parent / KILL_SWITCH

    class KillOncePredictor(SamPredictor):
        def set_image(self, *a: Any, **kw: Any) -> None:
            try:
                switch.unlink()  # exactly one process wins this
            except FileNotFoundError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
            super().set_image(*a, **kw)

    return KillOncePredictor(tiny_sam(seed=0))


def slow_predictor(args: Any) -> Any:
    """The tiny model, SLOW_S slower per image: a run that is still going when Ctrl+C comes."""
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    class SlowPredictor(SamPredictor):
        def set_image(self, *a: Any, **kw: Any) -> None:
            time.sleep(SLOW_S)
            super().set_image(*a, **kw)

    return SlowPredictor(tiny_sam(seed=0))


def small_sequence_predictor(args: Any) -> Any:
    """The real SAM 2.1 loader for --checkpoint, then 128-pixel network inputs (16x16
    features), as the `annotator track` tests run it, for speed."""
    from annotator.cli._common import load_sequence_predictor

    predictor = load_sequence_predictor(args)
    predictor.model.set_image_size(128)
    return predictor


def worker_env() -> dict[str, str]:
    """Environment for Ray's workers (and CLI subprocesses): this checkout importable, and the
    torch decoder, whose output does not depend on when ONNX Runtime's session is ready."""
    path = os.environ.get("PYTHONPATH")
    return {
        "PYTHONPATH": os.pathsep.join([str(ROOT), *([path] if path else [])]),
        "ANNOTATOR_DECODER": "torch",
        # A test cluster on 127.0.0.1 only: no token to share between the head and its client
        # (Ray 2.60's default mode writes one to ~/.ray, shared with any other Ray user there).
        "RAY_AUTH_MODE": "disabled",
    }


def main() -> int:
    """``python -m tests.cli.ray_support LOADER ARGV...``: `annotator ARGV` with the predictor
    of the commands replaced by LOADER (one of this module's loaders), in a fresh process."""
    import tests.cli.ray_support as support  # by name, so Ray pickles the loader by reference
    from annotator.cli import amg, segment
    from annotator.cli import main as cli_main

    loader = getattr(support, sys.argv[1])
    amg.load_predictor = loader
    segment.load_predictor = loader
    return cli_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (or `root` itself) by relative posix path: outputs to compare."""
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def project_without_times(path: Path) -> dict[str, Any]:
    """A COCO project file's content less each annotation's created/updated time: the one
    thing in which two runs (local or Ray) of the same command differ."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for ann in data["annotations"]:
        ann.pop("created", None)
        ann.pop("updated", None)
    return data


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the main thread if the block runs past `seconds` (no plugin)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"ran past its {seconds} s limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
