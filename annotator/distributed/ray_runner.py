"""Run an `ItemJob` on Ray Data: one model per actor, outputs written by the actors.

The items (indices into the job) become a Ray Dataset of one block per batch; ``map_batches``
with a callable class (`JobActor`) runs on an actor pool, each actor loading the model once
(`ItemJob.setup`) and writing every item's output itself, atomically, where the local run
writes it. Only small `ItemOutcome`s travel back to the driver, which yields each item once:
an item retried after an actor died (Ray restarts the actor and re-runs its batch, up to
`RayOptions.retries` times) is reported once.

Where Ray runs: an already initialised Ray (an embedding program, the tests) is used as is;
otherwise ``address`` None starts a local instance with this machine's CPUs (or connects to
``RAY_ADDRESS`` when set), ``"auto"`` joins the cluster this machine belongs to, and
``ray://host:port`` connects as a Ray client. A Ray this module started is shut down on exit,
Ctrl+C included, which also cancels the cluster work of this run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from annotator.distributed.jobs import ItemJob, ItemOutcome, run_one

INSTALL_HINT = '--ray needs Ray Data, an optional extra: pip install "annotator[ray]"'
# Images per actor call. Ray Data's own cost per call is large (a no-op job: ~170 ms an item at
# 1, ~75 at 8 on a loaded 2-core machine; benchmarks/distributed.py --part overhead); the
# encoder still takes one image at a time (README, "Scale out on Ray").
DEFAULT_BATCH_SIZE = 8
DEFAULT_RETRIES = 3


class RayRunError(RuntimeError):
    """Ray is missing, the cluster cannot run the job, or the run failed past its retries."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run. address: None (RAY_ADDRESS, else a local instance), "auto",
    "host:port" or "ray://host:port". workers: actors (None: as many as the cluster's CPUs, or
    GPUs when gpus_per_worker > 0, allow). gpus_per_worker may be fractional (0.5: two actors
    share a GPU). batch_size: items per actor call. retries: restarts of a dead actor (and
    re-runs of its batch) before the run fails."""

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    batch_size: int = DEFAULT_BATCH_SIZE
    retries: int = DEFAULT_RETRIES


def import_ray() -> Any:
    """The ``ray`` module with Ray Data loaded, or RayRunError saying how to install it."""
    try:
        import ray
        import ray.data  # the extra's Data part, not only the core
    except ImportError as exc:
        raise RayRunError(f"{INSTALL_HINT} ({exc})") from None
    return ray


@contextmanager
def connected(ray: Any, options: RayOptions) -> Iterator[None]:
    """Ray initialised for the block: the caller's, or one started (and shut down) here."""
    if ray.is_initialized():
        yield
        return
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    quiet: dict[str, Any] = {"logging_level": logging.WARNING}
    try:
        if address is None:
            ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayRunError(
            f"cannot connect to Ray at {address or 'a local instance'}: {exc}"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


def worker_count(resources: dict[str, float], options: RayOptions, n_items: int) -> int:
    """Actors to start: --workers, else what the cluster's CPUs (or GPUs) hold; <= n_items."""
    if options.workers is not None:
        wanted = options.workers
    elif options.gpus_per_worker > 0:
        wanted = int(resources.get("GPU", 0) // options.gpus_per_worker)
        if wanted == 0:
            raise RayRunError(
                f"--gpus-per-worker {options.gpus_per_worker:g} but the Ray cluster has "
                f"{resources.get('GPU', 0):g} GPUs"
            )
    else:
        wanted = int(resources.get("CPU", 1) // max(options.cpus_per_worker, 1e-6))
    return max(1, min(wanted, n_items))


class JobActor:
    """The ``map_batches`` callable class: loads the model once, then processes batches."""

    def __init__(self, job: ItemJob) -> None:
        job.setup()
        self.job = job

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        outcomes = []
        for raw in batch["index"]:
            index = int(raw)
            try:
                image, read_error = self.job.read(index), None
            except (ValueError, OSError) as exc:
                image, read_error = None, exc
            outcome = run_one(self.job, index, image, read_error)
            outcomes.append(replace(outcome, model=self.job.model, warning=self.job.warning))
        return {
            "index": [o.index for o in outcomes],
            "error": [o.error or "" for o in outcomes],
            "count": [o.count for o in outcomes],
            "payload": [json.dumps(o.payload) for o in outcomes],
            "model": [o.model for o in outcomes],
            "warning": [o.warning or "" for o in outcomes],
        }


def _outcome(row: dict[str, Any]) -> ItemOutcome:
    return ItemOutcome(
        int(row["index"]),
        error=row["error"] or None,
        count=int(row["count"]),
        payload=json.loads(row["payload"]),
        model=row["model"],
        warning=row["warning"] or None,
    )


def run_on_ray(job: ItemJob, indices: Sequence[int], options: RayOptions) -> Iterator[ItemOutcome]:
    """Process `indices` of `job` (not set up: each actor sets up its own copy) on Ray; yields
    each item's outcome once, in completion order. Raises RayRunError if the run fails."""
    ray = import_ray()
    if not indices:
        return
    if options.batch_size < 1:
        raise RayRunError(f"--batch-size must be >= 1, got {options.batch_size}")
    with connected(ray, options):
        workers = worker_count(ray.cluster_resources(), options, len(indices))
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the command draws one bar of its own
        # A model that cannot load (a checkpoint missing on the nodes) fails every actor's
        # start: give up after as many tries as a dying actor gets, and say why.
        context.max_consecutive_actor_init_deaths = options.retries
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # ...and it would say that it draws none
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        # Smaller batches where there are few images, so that every worker gets some.
        batch = max(1, min(options.batch_size, math.ceil(len(indices) / workers)))
        blocks = math.ceil(len(indices) / batch)
        items = ray.data.from_items(
            [{"index": int(i)} for i in indices], override_num_blocks=blocks
        )
        with warnings.catch_warnings():
            # Ray 2.60 deprecates remote args in map_batches but offers no other way to bound
            # the restarts (its default retries a dying actor forever).
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = items.map_batches(
                JobActor,
                fn_constructor_args=(job,),
                batch_size=batch,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=options.cpus_per_worker,
                num_gpus=options.gpus_per_worker or None,
                max_restarts=options.retries,
                max_task_retries=options.retries,
            )
        rows = dataset.iter_rows()
        seen: set[int] = set()
        try:
            for row in rows:
                outcome = _outcome(row)
                if outcome.index not in seen:  # a retried batch reports its items again
                    seen.add(outcome.index)
                    yield outcome
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:  # Ray wraps actor deaths and setup errors in its own types
            raise RayRunError(f"the Ray run failed: {_last_line(exc)}") from exc
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()  # stops the streaming executor: no more cluster work for this run


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
