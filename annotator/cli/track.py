"""`annotator track`: follow objects marked on key frames through a video or a frame folder
with SAM 2.1, writing a project with a mask on every frame for every object.

The prompts (`track_prompts`) are masks or boxes on one or more key frames; the engine's
`SequencePredictor` propagates them forward (default), backward (``--reverse``) or both ways
(``--both``: forward, then backward, from the same start). Every finished frame is written at
once (`track_output`): a killed or interrupted run continues where it stopped when run again
with the same settings, from the last finished frame (its masks become a conditioning frame).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from annotator.cli._common import add_model_options, error, load_sequence_predictor, model_name

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
    track.add_argument("input", metavar="INPUT", help="a video file or a folder of frames")
    track.add_argument(
        "--prompts", required=True, metavar="PROJECT.json", help="masks or boxes on key frames"
    )
    track.add_argument(
        "--output", "-o", required=True, metavar="OUT.json", help="the project to write"
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
    track.set_defaults(func=cmd_track)


def plan_passes(
    num_frames: int, start: int, max_frames: int | None, reverse: bool, both: bool
) -> list[tuple[bool, list[int]]]:
    """[(reverse, frames in the order they are tracked)] per direction, as the engine's
    `propagate(start, max_frames, reverse)` visits them."""
    span = num_frames if max_frames is None else max_frames
    forward = list(range(start, min(start + span, num_frames - 1) + 1))
    backward = list(range(start, max(start - span, 0) - 1, -1))
    if both:
        return [(False, forward), (True, backward)]
    return [(True, backward)] if reverse else [(False, forward)]


def _add_prompts(predictor, prompts, size: tuple[int, int]) -> None:
    for p in prompts.prompts:
        if p.mask is not None:
            if p.mask.shape != size:
                raise ValueError(f"the mask of object {p.object_id} on frame {p.frame_index} is "
                                 f"{p.mask.shape[1]}x{p.mask.shape[0]}, the frames are "
                                 f"{size[1]}x{size[0]}")  # fmt: skip
            predictor.add_mask(p.frame_index, p.object_id, p.mask)
        else:
            predictor.add_points_or_box(p.frame_index, p.object_id, box=np.asarray(p.box))


def run_pass(predictor, prompts, parts, frames, reverse, done, on_frame) -> None:
    """Track one direction over `frames`, skipping those `done`; a pass cut short earlier
    continues from its last finished frame, whose masks are added as prompts."""
    first = next((i for i, f in enumerate(frames) if f not in done), None)
    if first is None:
        return
    predictor.reset()
    _add_prompts(predictor, prompts, parts_size(predictor, frames[0]))
    begin = frames[max(first - 1, 0)]
    if first > 0:
        known = {p.object_id for p in prompts.prompts}
        for object_id, mask in parts.read(begin).items():
            if object_id in known:
                empty = np.zeros(parts_size(predictor, begin), bool)
                predictor.add_mask(begin, object_id, empty if mask is None else mask)
    remaining = len(frames) - 1 - frames.index(begin)
    for frame, object_ids, masks in predictor.propagate(begin, remaining, reverse):
        if frame in done:
            continue
        parts.write(frame, object_ids, masks, predictor.object_scores(frame))
        done.add(frame)
        on_frame(frame)


def parts_size(predictor, frame: int) -> tuple[int, int]:
    h, w = predictor.frame_size(frame)
    return (int(h), int(w))


def cmd_track(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from annotator.cli.segment import check_output
    from annotator.cli.track_output import TrackOutputError, TrackParts
    from annotator.cli.track_prompts import PromptsError, read_prompts, select_key_frames
    from annotator.engine.errors import CheckpointError
    from annotator.io.coco_store import sha256_hex
    from annotator.io.frames import FrameSourceError, open_frames
    from annotator.io.sequence_frames import frame_layout

    input_path, out = Path(args.input), Path(args.output)
    try:
        source = open_frames(input_path)
        layout = frame_layout(input_path, source)
        prompts = read_prompts(Path(args.prompts), list(source.names), layout.video)
        prompts = select_key_frames(Path(args.prompts), prompts, args.key_frames)
    except (FrameSourceError, PromptsError, OSError) as exc:
        return error(str(exc))
    n = len(source)
    start = min(prompts.key_frames) if args.start is None else args.start
    if start >= n:
        return error(f"--start {start} is past the last frame ({n - 1})")
    problem = check_output(out, force=True)  # a folder or an unwritable place; resumes allowed
    if problem is not None:
        return error(problem)
    passes = plan_passes(n, start, args.max_frames, args.reverse, args.both)
    settings = {
        "input": str(input_path.resolve()), "frames": n, "start": start,
        "max_frames": args.max_frames,
        "directions": ["backward" if r else "forward" for r, _ in passes],
        "prompts_sha256": sha256_hex(Path(args.prompts).read_bytes()),
        "key_frames": prompts.key_frames,
        "checkpoint": args.checkpoint, "model_type": args.model_type, "dtype": args.dtype,
    }  # fmt: skip
    parts = TrackParts(out)
    try:
        done = set(parts.start(settings, restart=args.restart, force=args.force))
    except TrackOutputError as exc:
        return error(str(exc))
    todo = len({f for _, frames in passes for f in frames} - done)
    if todo == 0 and parts.output_current():
        print(f"all {len(done)} frames were already tracked -> {out}", file=sys.stderr)
        return 0
    if done:
        print(f"{len(done)} frames already done, continuing", file=sys.stderr)
    try:
        predictor = load_sequence_predictor(args)
    except (CheckpointError, ValueError, OSError) as exc:
        return error(str(exc))
    source_name = model_name(predictor)
    category_of = prompts.category_of()

    def save() -> int:
        return parts.assemble(layout, prompts.categories, category_of, source_name)

    bar = tqdm(total=todo, unit="frame", desc="track", file=sys.stderr, dynamic_ncols=True)
    last_save = time.monotonic()

    def on_frame(frame: int) -> None:
        nonlocal last_save
        bar.update(1)
        if time.monotonic() - last_save >= args.save_every:
            save()
            last_save = time.monotonic()

    try:
        predictor.init_state(source)
        for reverse, frames in passes:
            run_pass(predictor, prompts, parts, frames, reverse, done, on_frame)
    except KeyboardInterrupt:
        bar.close()
        _finish(save)
        print("interrupted: finished frames are saved; run again to continue", file=sys.stderr)
        return 130
    except (FrameSourceError, ValueError, RuntimeError) as exc:
        bar.close()
        _finish(save)
        return error(f"{exc} (finished frames are saved; run again to continue)", 1)
    bar.close()
    try:
        frames = save()
    except TrackOutputError as exc:
        return error(str(exc), 1)
    print(f"{len(category_of)} objects tracked over {frames} frames -> {out}", file=sys.stderr)
    return 0


def _finish(save) -> None:
    from annotator.cli.track_output import TrackOutputError

    try:
        save()
    except TrackOutputError as exc:
        error(str(exc))
