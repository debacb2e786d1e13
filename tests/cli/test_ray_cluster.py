"""`--ray ADDRESS` against a separately started head node (`ray start --head`), the way a
user runs on a cluster: the command is a fresh process that connects through the address (or
RAY_ADDRESS). Ctrl+C stops the cluster work and leaves every finished image valid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from tests.cli.ray_support import ROOT, time_limit, tree_bytes, worker_env

SAMPLE = ROOT / "sample_data"
FAST = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
LIMIT_S = 240
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def head_node(tmp_path_factory):
    """`ray start --head --block` with 2 CPUs on a free port; stopped (its process group, never
    a machine-wide `ray stop`, which would hit other Ray users of the machine) afterwards."""
    pytest.importorskip("ray")
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    argv = [str(ray_cli), "start", "--head", "--block", "--port", str(port),
            "--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--num-gpus", "0",
            "--object-store-memory", str(100 * 2**20), "--include-dashboard", "false",
            "--disable-usage-stats"]  # fmt: skip
    log = tmp_path_factory.mktemp("head") / "ray-start.log"
    with log.open("w") as sink:
        head = subprocess.Popen(argv, env={**os.environ, **worker_env()}, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        with time_limit(LIMIT_S):
            while "Ray runtime started" not in log.read_text():
                assert head.poll() is None, log.read_text()
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)  # --block shuts its cluster down on SIGTERM
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # anything of this head that is left
        except ProcessLookupError:
            pass
        head.wait()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Eight small photos (four sample photos and their mirror images)."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = cv2.resize(cv2.imread(str(SAMPLE / f"{name}.jpg")), (120, 96))
        cv2.imwrite(str(root / f"{name}.jpg"), image)
        cv2.imwrite(str(root / f"{name}_flipped.jpg"), image[:, ::-1])
    return root


def _annotator(loader: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`annotator ARGV` in a fresh process, with the tests' `loader` model (ray_support)."""
    command = [sys.executable, "-m", "tests.cli.ray_support", loader, *argv]
    full_env = {**os.environ, **worker_env(), **(env or {})}
    return subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_a_run_through_the_head_nodes_address_matches_the_local_run(head_node, photos, tmp_path):
    local = tmp_path / "local"
    env = {"OMP_NUM_THREADS": "1"}  # the actors' one thread: the same float sums
    reference = _annotator("tiny_predictor", "amg", str(photos), "-o", str(local), *FAST, env=env)
    _, err = reference.communicate(timeout=LIMIT_S)
    assert reference.returncode == 0, err

    on_ray = tmp_path / "ray"
    argv = ["amg", str(photos), "-o", str(on_ray), *FAST, "--ray", head_node, "--workers", "2"]
    run = _annotator("tiny_predictor", *argv)
    _, err = run.communicate(timeout=LIMIT_S)
    assert run.returncode == 0, err
    assert "8 images segmented" in err
    assert tree_bytes(on_ray) == tree_bytes(local)


def test_ctrl_c_cancels_the_cluster_work_and_leaves_finished_images_valid(
    head_node, photos, tmp_path
):
    out = tmp_path / "masks"
    # Batches of 2: when Ray's iterator loses the KeyboardInterrupt, the driver still stops at
    # the next batch it receives (batch_run remembers the press), so some images stay undone.
    argv = ["amg", str(photos), "-o", str(out), *FAST, "--ray", "--workers", "1"]
    argv += ["--batch-size", "2"]
    run = _annotator("slow_predictor", *argv, env={"RAY_ADDRESS": head_node})
    with time_limit(LIMIT_S):
        while not list(out.glob("*/metadata.csv")):
            assert run.poll() is None, run.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "interrupted: finished images are saved" in err
    finished = sorted(p.parent.name for p in out.glob("*/metadata.csv"))
    assert 1 <= len(finished) < 8
    for name in finished:
        rows = (out / name / "metadata.csv").read_text().splitlines()
        assert len(list((out / name).glob("*.png"))) == len(rows) - 1
    time.sleep(3 * 0.5 + 2)  # an actor still at work would finish another image by now
    assert sorted(p.parent.name for p in out.glob("*/metadata.csv")) == finished
