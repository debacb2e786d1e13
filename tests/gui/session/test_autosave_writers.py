"""Issue 10 item 15: two windows on one project autosave to their own sidecars; opening offers
each that holds work, and declining deletes only the one declined."""

from __future__ import annotations

import os

import numpy as np
import pytest

from annotator.gui.session.project_io import open_project
from annotator.io.autosave import Autosaver, find_recovery, load_recovery
from annotator.io.coco_store import load_project, save_project, sidecar_path
from annotator.io.document import Document


def _mask(y=0):
    mask = np.zeros((16, 16), bool)
    mask[y : y + 4, 2:9] = True
    return mask


@pytest.fixture
def path(tmp_path):
    doc = Document(tmp_path)
    doc.add_image("a.png", 16, 16)
    return save_project(doc, tmp_path / "p.json")


def _window(path, y):
    """A window: the project loaded, one mask added, autosaved."""
    doc = load_project(path)
    saver = Autosaver(doc, delay_s=1)
    doc.add_annotation(1, 1, _mask(y))
    assert saver.flush()
    return doc, saver


def _touch(path, seconds):
    os.utime(path, ns=(int(seconds * 1e9),) * 2)


def test_two_windows_keep_separate_sidecars_and_both_are_offered(path):
    _doc_a, a = _window(path, 0)
    _doc_b, b = _window(path, 8)
    assert a.target != b.target and a.target.exists() and b.target.exists()
    assert a.target.name.startswith("p.autosave-") and not sidecar_path(path).exists()
    assert sorted(find_recovery(path)) == sorted([a.target, b.target])
    for saver, y in ((a, 0), (b, 8)):
        recovered = load_recovery(path, sidecar=saver.target)
        assert recovered.annotations()[0].bbox[1] == y  # each window's own work


def test_a_save_removes_only_the_saving_windows_sidecar(path):
    doc_a, a = _window(path, 0)
    _doc_b, b = _window(path, 8)
    save_project(doc_a)
    assert not a.target.exists() and doc_a.autosave_path is None
    assert b.target.exists()
    assert find_recovery(path) == [b.target]  # based on the version before A's save


def test_open_offers_each_and_declining_deletes_only_that_one(path):
    _doc_a, a = _window(path, 0)
    _doc_b, b = _window(path, 8)
    _touch(a.target, 3_000_000_000)  # A's is the newest: offered first
    _touch(b.target, 2_000_000_000)
    asked = []
    opened = open_project(path, lambda sidecar: asked.append(sidecar) or sidecar == b.target)
    assert asked == [a.target, b.target]
    assert opened.recovered and opened.doc.annotations()[0].bbox[1] == 8
    assert not a.target.exists() and b.target.exists()  # declined: gone; recovered: kept
    assert opened.kept_recoveries == []


def test_recovering_one_keeps_the_ones_not_asked_about(path):
    _doc_a, a = _window(path, 0)
    _doc_b, b = _window(path, 8)
    _touch(a.target, 3_000_000_000)
    _touch(b.target, 2_000_000_000)
    opened = open_project(path, lambda sidecar: True)
    assert opened.doc.annotations()[0].bbox[1] == 0
    assert opened.kept_recoveries == [b.target] and b.target.exists()


def test_recovered_work_moves_to_the_new_windows_own_sidecar(path):
    _doc_a, a = _window(path, 0)
    doc = load_recovery(path, sidecar=a.target)
    saver = Autosaver(doc, delay_s=1)
    doc.add_annotation(1, 1, _mask(8))
    assert saver.flush()
    assert saver.target != a.target and not a.target.exists()
    assert find_recovery(path) == [saver.target]
    save_project(doc)
    assert find_recovery(path) == [] and not saver.target.exists()


def test_declining_all_deletes_all_offered(path):
    _window(path, 0)
    _window(path, 8)
    opened = open_project(path, lambda sidecar: False)
    assert not opened.recovered and find_recovery(path) == []
    assert len(opened.doc.annotations()) == 0
