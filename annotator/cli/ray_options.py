"""The ``--ray`` flags of the batch commands (``amg``, ``segment``, ``track``): one definition,
one help."""

from __future__ import annotations

import argparse

from annotator.distributed.ray_runner import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_RETRIES,
    RayOptions,
    RayRunError,
    import_ray,
)


def add_ray_options(
    parser: argparse.ArgumentParser, unit: str = "images", default_batch: int = DEFAULT_BATCH_SIZE
) -> None:
    """--ray [ADDRESS], --workers, --gpus-per-worker, --cpus-per-worker, --batch-size (`unit`s
    per actor call, `default_batch` by default)."""
    group = parser.add_argument_group(
        'scale out on Ray (needs the extra: pip install "annotator[ray]")'
    )
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run on Ray Data actors, one model each. No ADDRESS: the cluster in RAY_ADDRESS, "
        "else a local Ray instance on this machine's CPUs; 'auto': the cluster this machine "
        "joined (ray start); host:port or ray://host:port: that cluster's head",
    )
    group.add_argument(
        "--workers", type=int, metavar="N", help="actors (default: all the cluster's CPUs or GPUs)"
    )
    group.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        metavar="F",
        help="GPUs per actor, fractional allowed (0.5: two actors per GPU; default 0)",
    )
    group.add_argument(
        "--cpus-per-worker", type=float, default=1.0, metavar="F", help="CPUs per actor (default 1)"
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=default_batch,
        metavar="N",
        help=f"{unit} per actor call (default {default_batch})",
    )


def ray_options(args: argparse.Namespace) -> RayOptions | None:
    """The Ray options given, or None for a local run; ValueError for impossible values."""
    if args.ray is None:
        if args.workers is not None:
            raise ValueError("--workers applies to a Ray run: add --ray")
        return None
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.gpus_per_worker < 0 or args.cpus_per_worker <= 0:
        raise ValueError("--gpus-per-worker must be >= 0 and --cpus-per-worker > 0")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        import_ray()  # before any work: without the extra, say how to install it
    except RayRunError as exc:
        raise ValueError(str(exc)) from None
    return RayOptions(
        address=args.ray or None,
        workers=args.workers,
        gpus_per_worker=args.gpus_per_worker,
        cpus_per_worker=args.cpus_per_worker,
        batch_size=args.batch_size,
        retries=DEFAULT_RETRIES,
    )
