"""`annotator track`: follow objects marked on key frames through a video or a frame folder
with SAM 2.1, writing a project with a mask on every frame for every object.

The prompts (`track_prompts`) are masks or boxes on one or more key frames; the engine's
`SequencePredictor` propagates them forward (default), backward (``--reverse``) or both ways
(``--both``: forward, then backward, from the same start). Every finished frame is written at
once (`track_output`): a killed or interrupted run continues where it stopped when run again
with the same settings, from the last finished frame (its masks become a conditioning frame).

Several INPUTs are tracked one after another, or with ``--ray`` side by side, one sequence per
Ray actor call (`track_job` says why whole sequences), each into ``OUT/<input name>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.cli._common import (
    add_model_options,
    error,
    load_sequence_predictor,
    report_failures,
)
from annotator.cli.ray_options import add_ray_options, ray_options

DEFAULT_CHECKPOINT = "sam2.1_hiera_tiny"


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {number}")
    return number


def _frames(value: str) -> list[int]:
    try:
        frames = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of frames like 0,40") from None
    if not frames or min(frames) < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of frames like 0,40")
    return frames


def register(subparsers: argparse._SubParsersAction) -> None:
    track = subparsers.add_parser(
        "track",
        help="follow objects marked on key frames through a video or frame folder (SAM 2.1)",
        description=(
            "Propagate masks or boxes given on key frames (a project as the app or "
            "`annotator segment` writes it, or a COCO file with bbox-only annotations) through "
            "every frame of a video or a frame folder with a SAM 2.1 model. Objects are matched "
            "by track_id, else each annotation is one object. The output project holds every "
            "frame (video, frame_index) and each object's mask on it (track_id). Finished "
            "frames are kept as they are done: run the same command again to continue."
        ),
    )
    track.add_argument(
        "input", metavar="INPUT", nargs="+",
        help="a video file or a folder of frames; several: one project each, in the --output "
        "folder (named like the input), tracked side by side with --ray",
    )  # fmt: skip
    track.add_argument(
        "--prompts", required=True, metavar="PROJECT.json", help="masks or boxes on key frames"
    )
    track.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT.json",
        help="the project to write (with several INPUTs: the folder of their projects)",
    )
    track.add_argument(
        "--key-frames", type=_frames, metavar="F,F,...",
        help="use only these frames of PROJECT as prompts (default: the frames with masks no "
        "propagation made, e.g. fixed by hand; else every annotated frame)",
    )  # fmt: skip
    way = track.add_mutually_exclusive_group()
    way.add_argument("--reverse", action="store_true", help="propagate backward in time")
    way.add_argument("--both", action="store_true", help="forward, then backward from --start")
    track.add_argument(
        "--start",
        type=_count,
        metavar="FRAME",
        help="0-based frame to start from (default: the first key frame)",
    )
    track.add_argument(
        "--max-frames",
        type=_count,
        metavar="N",
        help="track at most N frames past --start in each direction",
    )
    track.add_argument(
        "--save-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="rewrite OUT from the finished frames this often (default 30)",
    )
    track.add_argument(
        "--force",
        action="store_true",
        help="replace an OUT this command did not write (kept as .bak)",
    )
    track.add_argument(
        "--restart",
        action="store_true",
        help="discard the finished frames of an earlier run and start over",
    )
    add_model_options(track, default_checkpoint=DEFAULT_CHECKPOINT)
    add_ray_options(track, unit="sequences", default_batch=1)
    track.set_defaults(func=cmd_track)


def output_names(inputs: list[Path]) -> list[str]:
    """The project file name per input when there are several: the video's stem or the frame
    folder's name, + .json; ValueError when two inputs would write the same file."""
    names = [f"{p.name if p.is_dir() else p.stem}.json" for p in inputs]
    for name in names:
        if names.count(name) > 1:
            same = [str(p) for p, n in zip(inputs, names, strict=True) if n == name]
            raise ValueError(f"{' and '.join(same)} would both be tracked into {name}: give "
                             "them different names, or track them one at a time")  # fmt: skip
    return names


def _prepare(args: argparse.Namespace, input_path: Path, output: Path) -> tuple[Any, Any, set]:
    """(plan, parts, finished frames) of one sequence, its output checked and its parts folder
    started (`TrackParts.start`); raises ValueError, OSError or TrackOutputError."""
    from annotator.cli.output_checks import check_output
    from annotator.cli.track_job import plan_sequence
    from annotator.cli.track_output import TrackParts

    plan = plan_sequence(args, input_path)
    plan.source.close()  # opened again where the sequence is tracked
    problem = check_output(output)
    if problem is not None:
        raise ValueError(problem)
    parts = TrackParts(output)
    return plan, parts, set(parts.start(plan.settings, restart=args.restart, force=args.force))


def cmd_track(args: argparse.Namespace) -> int:
    from annotator.cli.track_job import SequenceTask, TrackJob
    from annotator.cli.track_output import TrackOutputError
    from annotator.engine.errors import CheckpointError

    inputs, out = [Path(p) for p in args.input], Path(args.output)
    several = len(inputs) > 1
    try:
        ray = ray_options(args)
        outputs = [out / name for name in output_names(inputs)] if several else [out]
    except ValueError as exc:
        return error(str(exc))
    if several and out.is_file():
        return error(f"with several INPUTs --output is a folder (one project each), not {out}")
    tasks: list[SequenceTask] = []
    failures: list[tuple[str, str]] = []
    skipped = 0
    for input_path, output in zip(inputs, outputs, strict=True):
        try:  # refused before the model loads
            plan, parts, done = _prepare(args, input_path, output)
        except (ValueError, OSError, TrackOutputError) as exc:
            if not several:
                return error(str(exc))
            failures.append((str(input_path), str(exc)))
            continue
        if plan.frames_left(done) == 0 and parts.output_current():
            skipped += 1
            if not several:
                print(f"all {len(done)} frames were already tracked -> {output}", file=sys.stderr)
            continue
        if done and not several:
            print(f"{len(done)} frames already done, continuing", file=sys.stderr)
        tasks.append(SequenceTask(str(input_path), str(output), args.force))
    if not tasks:
        return report_failures(failures, "not tracked:")
    job = TrackJob(args, tasks, load=load_sequence_predictor)
    if ray is None:  # on Ray, each actor loads its own model
        try:
            job.setup()
        except (CheckpointError, ValueError, OSError) as exc:
            return error(str(exc))
    if ray is None and not several:
        return _track_one(job)
    if skipped:
        print(f"{skipped} of {len(inputs)} sequences already tracked, skipping them",
              file=sys.stderr)  # fmt: skip
    return _track_many(job, ray, failures, out)


def _track_one(job) -> int:
    """One sequence in this process, with a bar of its frames (the way most users track)."""
    from tqdm import tqdm

    from annotator.distributed.jobs import run_local

    bar = tqdm(unit="frame", desc="track", file=sys.stderr, dynamic_ncols=True)
    job.on_frame = lambda frame: bar.update(1)
    try:
        (outcome,) = run_local(job, [0])
    except KeyboardInterrupt:
        bar.close()
        print("interrupted: finished frames are saved; run again to continue", file=sys.stderr)
        return 130
    bar.close()
    if outcome.error is not None:
        return error(outcome.error, 1)
    print(f"{outcome.payload} objects tracked over {outcome.count} frames -> "
          f"{job.tasks[0].output}", file=sys.stderr)  # fmt: skip
    return 0


def _track_many(job, ray, failures: list[tuple[str, str]], out: Path) -> int:
    """Several sequences, one after another here or side by side on Ray actors."""
    from annotator.cli.batch_run import run_items
    from annotator.distributed.ray_runner import RayRunError

    tracked = frames = 0
    try:
        outcomes = run_items(job, range(len(job.tasks)), ray, "track", "seq", "frames")
        for outcome in outcomes:
            if outcome.error is not None:
                failures.append((job.label(outcome.index), outcome.error))
            else:
                tracked, frames = tracked + 1, frames + outcome.count
    except KeyboardInterrupt:
        print("interrupted: finished frames are saved; run again to continue", file=sys.stderr)
        return 130
    except RayRunError as exc:
        return error(f"{exc}; finished frames are saved: run again to continue", code=1)
    print(f"{tracked} sequences tracked ({frames} frames), {len(failures)} failed -> {out}",
          file=sys.stderr)  # fmt: skip
    return report_failures(failures, "not tracked:")
