"""The driver loop `amg` and `segment` share: run a job's items locally or on Ray, with one
progress bar (images per second, time left) and each failure shown as it happens."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from annotator.distributed.jobs import ItemJob, ItemOutcome, run_local
from annotator.distributed.ray_runner import RayOptions


def run_items(
    job: ItemJob, indices: Sequence[int], ray: RayOptions | None, desc: str
) -> Iterator[ItemOutcome]:
    """Yield each item's outcome once. Local (`ray` None): `job` must be set up already; on
    Ray each actor sets up its own copy. Raises RayRunError when a Ray run fails."""
    from tqdm import tqdm

    if ray is None:
        outcomes = run_local(job, indices)
    else:
        from annotator.distributed.ray_runner import run_on_ray

        outcomes = run_on_ray(job, indices, ray)
    bar = tqdm(total=len(indices), unit="img", desc=desc, file=sys.stderr, dynamic_ncols=True)
    masks = failed = 0
    warned: set[str] = set()
    try:
        for outcome in outcomes:
            if outcome.warning and outcome.warning not in warned:  # from a Ray actor's model
                warned.add(outcome.warning)
                bar.write(f"warning: {outcome.warning}", file=sys.stderr)
            if outcome.error is not None:
                failed += 1
                bar.write(f"failed {job.label(outcome.index)}: {outcome.error}", file=sys.stderr)
            masks += outcome.count
            yield outcome
            bar.update(1)
            bar.set_postfix(masks=masks, failed=failed)
    finally:
        bar.close()
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # a Ray run stops its cluster work here (Ctrl+C, or the caller stopped)
