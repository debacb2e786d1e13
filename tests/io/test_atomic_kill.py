"""Kill a process mid-save, many times: the project must always be an old or a new complete file."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from annotator import atomic
from annotator.atomic import LOCKED_TEMP_GRACE_S
from annotator.io.coco_store import load_project, save_project
from annotator.io.document import Document

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

ROOT = Path(__file__).resolve().parents[2]

BASE_ANNS = 150
KILLS = 40


def _temps(folder):
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _diagnose(folder) -> str:
    lines = []
    for temp in _temps(folder):
        pid = int(temp.name.rsplit(".", 2)[-2].split("-")[0])
        alive, age, free = atomic._pid_alive(pid), atomic._age_s(temp), atomic._unlocked(temp)
        lines.append(f"{temp.name}: pid alive {alive}, age {age:.2f}s, unlocked {free}")
    return "\n".join(lines)


# The child is a fresh interpreter (not a fork of this multi-threaded test process, which
# could deadlock on a lock another thread held at fork time). It loads the project, says
# "ready" once imports are done so kills land in saves rather than in start-up, then saves
# versions start+1, start+2, ... until killed.
CHILD = """
import sys
import numpy as np
from annotator.io.coco_store import load_project, save_project

path, start, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
doc = load_project(path)
mask = np.zeros((64, 64), bool)
mask[8:40, 8:40] = True
print("ready", flush=True)
version = start
while True:
    version += 1
    # Version k has base + k % 7 annotations and says k in its info block, so a mix of two
    # versions (a torn write) would be caught by the parent.
    while len(doc.annotations()) > base + version % 7:
        doc.delete_annotation(doc.annotations()[-1].id)
    while len(doc.annotations()) < base + version % 7:
        doc.add_annotation(1 + version % 10, 1, mask, predicted_iou=version / 1e6)
    doc.extra["info"] = {"version": version}
    save_project(doc, force=True)
"""


def _check_complete(path) -> int:
    text = path.read_text(encoding="utf-8")
    json.loads(text)  # complete JSON, not a prefix
    doc = load_project(path)
    version = doc.extra["info"]["version"]
    assert len(doc.annotations()) == BASE_ANNS + version % 7, "torn file"
    return version


def test_killed_saves_leave_old_or_new_complete_file(tmp_path):
    doc = Document(tmp_path)
    for i in range(10):
        doc.add_image(f"img{i}.png", 64, 64)
    mask = np.zeros((64, 64), bool)
    mask[2:30, 5:50] = True
    for i in range(BASE_ANNS):
        doc.add_annotation(1 + i % 10, 1, mask)
    doc.extra["info"] = {"version": 0}
    path = save_project(doc, tmp_path / "project.json")

    rng = random.Random(1234)
    versions = [0]
    kills_with_temp = 0
    for _ in range(KILLS):
        temps_before = set(_temps(tmp_path))
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(versions[-1]), str(BASE_ANNS)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.002, 0.08))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        kills_with_temp += bool(set(_temps(tmp_path)) - temps_before)  # killed mid-write
        version = _check_complete(path)
        assert version >= versions[-1]  # never rolled back to something older
        versions.append(version)
        bak = path.with_name(path.name + ".bak")
        if bak.exists():
            assert _check_complete(bak) <= version
    # The next save (here: a fresh one) removes the temps the killed writers left behind. Past the
    # grace period it does so even if a dead writer's pid was reused meanwhile (busy machine).
    time.sleep(LOCKED_TEMP_GRACE_S + 0.2)
    final = load_project(path)
    final.add_category("after")
    save_project(final)
    assert _temps(tmp_path) == [], _diagnose(tmp_path)
    assert load_project(path).category_by_name("after") is not None
    assert versions[-1] > 0, "no child ever completed a save"
    assert kills_with_temp > 0, "no kill landed inside a write; the test proved nothing"
