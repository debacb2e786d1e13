"""`annotator track`'s work on one sequence, the same code for the local run and each Ray
actor: open the frames, read the key-frame prompts, propagate them pass by pass and write each
finished frame as a part (`track_output`), then assemble the sequence's project.

A sequence is sequential in time and its objects share one image encoding per frame, so Ray
distributes whole sequences (one per actor call): splitting objects would encode every frame
once per actor, and splitting time would break the memory that carries an object along.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annotator.distributed.jobs import ItemOutcome


@dataclass(frozen=True)
class SequencePlan:
    """What tracking one sequence needs: its frames (`source`, an `io.frames.FrameSource`),
    their `layout` in a project, the key-frame `prompts`, the `passes` [(reverse, frames in
    the order they are tracked)] and the run's `settings` (what its parts depend on)."""

    source: Any
    layout: Any
    prompts: Any
    passes: list[tuple[bool, list[int]]]
    settings: dict[str, Any]

    def frames_left(self, done: set[int]) -> int:
        return len({f for _, frames in self.passes for f in frames} - done)


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


def plan_sequence(args: argparse.Namespace, input_path: Path) -> SequencePlan:
    """Open `input_path` (a video or a frame folder) and read its prompts from --prompts;
    raises FrameSourceError or PromptsError (ValueErrors naming the file) or OSError."""
    from annotator.cli.track_prompts import read_prompts, select_key_frames
    from annotator.io.coco_store import sha256_hex
    from annotator.io.frames import open_frames
    from annotator.io.sequence_frames import frame_layout

    source = open_frames(input_path)
    layout = frame_layout(input_path, source)
    prompts = read_prompts(Path(args.prompts), list(source.names), layout.video)
    prompts = select_key_frames(Path(args.prompts), prompts, args.key_frames)
    n = len(source)
    start = min(prompts.key_frames) if args.start is None else args.start
    if start >= n:
        raise ValueError(f"--start {start} is past the last frame ({n - 1}) of {input_path}")
    passes = plan_passes(n, start, args.max_frames, args.reverse, args.both)
    settings = {
        "input": str(input_path.resolve()), "frames": n, "start": start,
        "max_frames": args.max_frames,
        "directions": ["backward" if r else "forward" for r, _ in passes],
        "prompts_sha256": sha256_hex(Path(args.prompts).read_bytes()),
        "key_frames": prompts.key_frames,
        "checkpoint": args.checkpoint, "model_type": args.model_type, "dtype": args.dtype,
    }  # fmt: skip
    return SequencePlan(source, layout, prompts, passes, settings)


def _add_prompts(predictor: Any, prompts: Any, size: tuple[int, int]) -> None:
    for p in prompts.prompts:
        if p.mask is not None:
            if p.mask.shape != size:
                raise ValueError(f"the mask of object {p.object_id} on frame {p.frame_index} is "
                                 f"{p.mask.shape[1]}x{p.mask.shape[0]}, the frames are "
                                 f"{size[1]}x{size[0]}")  # fmt: skip
            predictor.add_mask(p.frame_index, p.object_id, p.mask)
        else:
            predictor.add_points_or_box(p.frame_index, p.object_id, box=np.asarray(p.box))


def _size(predictor: Any, frame: int) -> tuple[int, int]:
    h, w = predictor.frame_size(frame)
    return (int(h), int(w))


def run_pass(predictor, prompts, parts, frames, reverse, done, on_frame) -> None:
    """Track one direction over `frames`, skipping those `done`; a pass cut short earlier
    continues from its last finished frame, whose masks are added as prompts."""
    first = next((i for i, f in enumerate(frames) if f not in done), None)
    if first is None:
        return
    predictor.reset()
    _add_prompts(predictor, prompts, _size(predictor, frames[0]))
    begin = frames[max(first - 1, 0)]
    if first > 0:
        known = {p.object_id for p in prompts.prompts}
        for object_id, mask in parts.read(begin).items():
            if object_id in known:
                empty = np.zeros(_size(predictor, begin), bool)
                predictor.add_mask(begin, object_id, empty if mask is None else mask)
    remaining = len(frames) - 1 - frames.index(begin)
    for frame, object_ids, masks in predictor.propagate(begin, remaining, reverse):
        if frame in done:
            continue
        parts.write(frame, object_ids, masks, predictor.object_scores(frame))
        done.add(frame)
        on_frame(frame)


@dataclass(frozen=True)
class SequenceTask:
    """One sequence of a run: its input (video or frame folder), its output project, and
    whether that output may replace a file this command did not write (--force)."""

    input: str
    output: str
    force: bool = False


@dataclass
class TrackJob:
    """The sequences of one `annotator track` run; picklable until `setup` (which loads the
    model: `load(args)` is `_common.load_sequence_predictor`, every node resolving
    --checkpoint itself). `on_frame(frame)` is called per finished frame (the local bar)."""

    args: argparse.Namespace
    tasks: list[SequenceTask]
    load: Callable[[argparse.Namespace], Any]
    on_frame: Callable[[int], None] | None = None
    model: str = ""
    warning: str | None = None
    _predictor: Any = field(default=None, repr=False)

    def setup(self) -> None:
        """Load the model; raises CheckpointError, ValueError (not SAM 2.1) or OSError."""
        from annotator.cli._common import model_name

        self._predictor = self.load(self.args)
        self.model = model_name(self._predictor)

    def label(self, index: int) -> str:
        return self.tasks[index].input

    def read(self, index: int) -> SequencePlan:
        return plan_sequence(self.args, Path(self.tasks[index].input))

    def process(self, index: int, plan: SequencePlan) -> ItemOutcome:
        """Track the sequence, continuing from its finished frames; count: frames in the
        project; payload: the objects tracked. Ctrl+C saves the project and is re-raised."""
        from annotator.cli.track_output import TrackOutputError, TrackParts
        from annotator.io.frames import FrameSourceError

        task = self.tasks[index]
        parts = TrackParts(Path(task.output))
        category_of = plan.prompts.category_of()

        def save() -> int:
            return parts.assemble(plan.layout, plan.prompts.categories, category_of, self.model)

        last_save = time.monotonic()

        def on_frame(frame: int) -> None:
            nonlocal last_save
            if self.on_frame is not None:
                self.on_frame(frame)
            if time.monotonic() - last_save >= self.args.save_every:
                save()
                last_save = time.monotonic()

        try:
            done = set(parts.start(plan.settings, restart=False, force=task.force))
            self._predictor.init_state(plan.source)
            for reverse, frames in plan.passes:
                run_pass(self._predictor, plan.prompts, parts, frames, reverse, done, on_frame)
            return ItemOutcome(index, count=save(), payload=len(category_of))
        except KeyboardInterrupt:
            _save_quietly(save)
            raise
        except TrackOutputError as exc:
            return ItemOutcome(index, error=str(exc))
        except (FrameSourceError, ValueError, RuntimeError) as exc:
            _save_quietly(save)
            return ItemOutcome(index, error=f"{exc} (finished frames are saved; run again to "
                                            "continue)")  # fmt: skip
        finally:
            plan.source.close()


def _save_quietly(save: Callable[[], int]) -> None:
    """Assemble what is finished; a project someone else changed meanwhile is left alone
    (the frames stay in the parts folder), and said so."""
    from annotator.cli._common import error
    from annotator.cli.track_output import TrackOutputError

    try:
        save()
    except TrackOutputError as exc:
        error(str(exc))
