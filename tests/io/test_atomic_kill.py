"""Kill a process mid-save, many times: the project must always be an old or a new complete file."""

import json
import os
import random
import signal
import sys
import time

import numpy as np
import pytest

from annotator.io.coco_store import load_project, save_project
from annotator.io.document import Document

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork and SIGKILL"
)

BASE_ANNS = 150
KILLS = 80


def _temps(folder):
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _saving_child(doc: Document, start: int) -> None:
    """Runs in the forked child: save versions start, start+1, ... until killed."""
    try:
        mask = np.zeros((64, 64), bool)
        mask[8:40, 8:40] = True
        version = start
        while True:
            version += 1
            # Version k has BASE_ANNS + k % 7 annotations and says k in its info block, so a
            # mix of two versions (a torn write) would be caught by the parent.
            while len(doc.annotations()) > BASE_ANNS + version % 7:
                doc.delete_annotation(doc.annotations()[-1].id)
            while len(doc.annotations()) < BASE_ANNS + version % 7:
                doc.add_annotation(1 + version % 10, 1, mask, predicted_iou=version / 1e6)
            doc.extra["info"] = {"version": version}
            save_project(doc, force=True)
    finally:
        os._exit(0)


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
    started = time.monotonic()
    for _ in range(KILLS):
        temps_before = set(_temps(tmp_path))
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            _saving_child(doc, versions[-1])
        time.sleep(rng.uniform(0.002, 0.06))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills_with_temp += bool(set(_temps(tmp_path)) - temps_before)  # killed mid-write
        version = _check_complete(path)
        assert version >= versions[-1]  # never rolled back to something older
        versions.append(version)
        bak = path.with_name(path.name + ".bak")
        if bak.exists():
            assert _check_complete(bak) <= version
    # The next save (here: a fresh one) removes the temps the killed writers left behind.
    final = load_project(path)
    final.add_category("after")
    save_project(final)
    assert _temps(tmp_path) == []
    assert load_project(path).category_by_name("after") is not None
    assert versions[-1] > KILLS // 2, "children should have completed many saves"
    assert kills_with_temp > 0, "no kill landed inside a write; the test proved nothing"
    assert time.monotonic() - started < 30
