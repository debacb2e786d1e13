"""How many actors a Ray run starts, from the options and the cluster's resources (no Ray)."""

from __future__ import annotations

import pytest

from annotator.distributed.ray_runner import RayOptions, RayRunError, worker_count


def test_workers_fill_the_cpus_or_the_gpus_and_never_outnumber_the_images():
    cluster = {"CPU": 16.0, "GPU": 4.0}
    assert worker_count(cluster, RayOptions(), 100) == 16
    assert worker_count(cluster, RayOptions(cpus_per_worker=4), 100) == 4
    assert worker_count(cluster, RayOptions(gpus_per_worker=0.5), 100) == 8  # two per GPU
    assert worker_count(cluster, RayOptions(gpus_per_worker=1), 3) == 3
    assert worker_count(cluster, RayOptions(workers=2, gpus_per_worker=1), 100) == 2


def test_asking_for_gpus_on_a_cluster_without_any_says_so():
    with pytest.raises(RayRunError, match="--gpus-per-worker 1 but the Ray cluster has 0 GPUs"):
        worker_count({"CPU": 8.0}, RayOptions(gpus_per_worker=1), 10)
