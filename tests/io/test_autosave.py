import json
import os

import numpy as np
import pytest

from annotator.io import autosave as autosave_module
from annotator.io.autosave import (
    Autosaver,
    discard_recovery,
    find_recovery,
    find_untitled_recoveries,
    load_recovery,
    load_untitled_recovery,
)
from annotator.io.coco_store import (
    ProjectChangedOnDiskError,
    load_project,
    save_project,
    sidecar_path,
)
from annotator.io.document import Document


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _mask(y=0):
    mask = np.zeros((16, 16), bool)
    mask[y : y + 4, 2:9] = True
    return mask


@pytest.fixture
def project(tmp_path):
    doc = Document(tmp_path)
    doc.add_image("a.png", 16, 16)
    save_project(doc, tmp_path / "p.json")
    return doc


def _set_mtime(path, seconds):
    os.utime(path, ns=(int(seconds * 1e9), int(seconds * 1e9)))


def test_debounce_waits_for_quiet_then_writes_sidecar(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=3, max_delay_s=30, clock=clock)
    assert not saver.pending and not saver.maybe_flush()
    project.add_annotation(1, 1, _mask())
    assert saver.pending
    clock.now += 2
    project.add_annotation(1, 1, _mask(5))  # a new change restarts the quiet period
    clock.now += 2
    assert not saver.maybe_flush()
    clock.now += 1.5
    assert saver.maybe_flush()
    sidecar = saver.target
    assert saver.last_written == sidecar and sidecar.name == f"p.autosave-{saver.writer_id}.json"
    assert len(load_project(sidecar).annotations()) == 2
    assert project.dirty  # an autosave is not a save
    assert not saver.pending and not saver.maybe_flush()
    assert len(load_project(project.path).annotations()) == 0  # the project is untouched


def test_continuous_editing_still_saved_after_max_delay(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=3, max_delay_s=10, clock=clock)
    for step in range(12):
        project.add_annotation(1, 1, _mask(step % 10))
        clock.now += 1
        if saver.maybe_flush():
            break
    assert step == 9  # written 10 s after the first change although never quiet for 3 s


def test_undo_is_a_change_for_autosave(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask())
    clock.now += 2
    assert saver.maybe_flush()
    project.undo()
    assert saver.pending
    clock.now += 2
    assert saver.maybe_flush()
    assert load_project(saver.target).annotations() == []


def test_failed_autosave_stays_pending_reports_and_retries(project, monkeypatch):
    clock = Clock()
    errors = []
    saver = Autosaver(project, delay_s=1, clock=clock, on_error=errors.append)
    project.add_annotation(1, 1, _mask())
    real_write = autosave_module.atomic_write_bytes

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(autosave_module, "atomic_write_bytes", disk_full)
    clock.now += 2
    assert not saver.maybe_flush()
    assert saver.pending and project.dirty
    assert isinstance(saver.last_error, OSError) and errors == [saver.last_error]
    assert not saver.target.exists()
    assert not saver.maybe_flush()  # not hammering the disk on every tick
    monkeypatch.setattr(autosave_module, "atomic_write_bytes", real_write)
    clock.now += 1.5
    assert saver.maybe_flush() and saver.last_error is None and not saver.pending


def test_real_save_removes_sidecar_and_nothing_is_pending(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask())
    clock.now += 2
    saver.maybe_flush()
    save_project(project)
    assert not saver.target.exists()
    assert not saver.pending
    clock.now += 50
    assert not saver.maybe_flush()
    project.add_annotation(1, 1, _mask(3))  # the debounce restarts after a save
    clock.now += 0.5
    assert not saver.maybe_flush()
    clock.now += 1
    assert saver.maybe_flush()
    saver.close()


def test_untitled_project_autosaves_to_user_folder_then_cleans_up(tmp_path):
    clock = Clock()
    doc = Document(tmp_path)
    doc.add_image("a.png", 16, 16)
    saver = Autosaver(doc, delay_s=1, clock=clock, untitled_dir=tmp_path / "state")
    clock.now += 2
    assert saver.maybe_flush()
    untitled = saver.last_written
    assert untitled.parent == tmp_path / "state"
    assert find_untitled_recoveries(tmp_path / "state") == [untitled]
    save_project(doc, tmp_path / "new.json")
    saver.maybe_flush()
    assert not untitled.exists() and find_untitled_recoveries(tmp_path / "state") == []
    assert find_untitled_recoveries(tmp_path / "none") == []


def test_recovered_untitled_project_continues_in_same_file(tmp_path):
    clock = Clock()
    state = tmp_path / "state"
    doc = Document(tmp_path)
    doc.add_image("a.png", 16, 16)
    doc.add_annotation(1, 1, _mask())
    Autosaver(doc, delay_s=1, clock=clock, untitled_dir=state).flush()
    [found] = find_untitled_recoveries(state)  # "crash", then the next session finds it
    recovered = load_untitled_recovery(found)
    assert recovered.path is None and recovered.dirty and len(recovered.annotations()) == 1
    assert recovered.images_root == tmp_path
    saver = Autosaver(recovered, delay_s=1, clock=clock, untitled_path=found)
    recovered.add_annotation(1, 1, _mask(6))
    clock.now += 2
    assert saver.maybe_flush() and saver.last_written == found
    assert find_untitled_recoveries(state) == [found]
    save_project(recovered, tmp_path / "named.json")
    saver.maybe_flush()
    assert find_untitled_recoveries(state) == []


def test_close_keeps_sidecar_of_unsaved_work(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask())
    assert saver.flush()
    saver.close()
    project.add_annotation(1, 1, _mask(4))
    assert not saver.maybe_flush()
    assert saver.target.exists()


def test_find_and_load_recovery(project):
    clock = Clock()
    path = project.path
    assert find_recovery(path) == []
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask(), model="vit_b")
    saver.flush()
    _set_mtime(path, 1_000)
    _set_mtime(saver.target, 2_000)
    assert find_recovery(path) == [saver.target]
    recovered = load_recovery(path)
    assert recovered.path == path and recovered.dirty
    assert recovered.annotations()[0].provenance["model"] == "vit_b"
    save_project(recovered)  # the project was not changed meanwhile: no conflict
    assert len(load_project(path).annotations()) == 1
    assert find_recovery(path) == [] and not saver.target.exists()


def test_older_sidecar_is_not_offered_and_discard(project):
    path = project.path
    sidecar = sidecar_path(path)
    sidecar.write_text(path.read_text())
    _set_mtime(sidecar, 1_000)
    _set_mtime(path, 2_000)
    assert find_recovery(path) == []
    path.unlink()
    assert find_recovery(path) == [sidecar]  # project gone: the sidecar is all there is
    discard_recovery(path)
    assert not sidecar.exists() and find_recovery(path) == []


def test_other_window_saving_keeps_our_sidecar_and_recovery_still_guards(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask())
    saver.flush()
    base = json.loads(saver.target.read_text())["annotator"]["autosave_base"]
    assert base["sha256"] == project.disk_state.sha256
    other = load_project(project.path)  # another window saves in between...
    other.add_category("theirs")
    save_project(other)
    assert saver.target.exists()  # ...without deleting our unsaved work
    _set_mtime(saver.target, 1_000)  # even if older than the project now,
    assert find_recovery(project.path) == [saver.target]  # it is still offered
    recovered = load_recovery(project.path)
    with pytest.raises(ProjectChangedOnDiskError):  # and saving it asks before overwriting
        save_project(recovered)
    save_project(recovered, force=True)
    assert not saver.target.exists()
    assert len(load_project(project.path).annotations()) == 1


def test_stale_sidecar_of_current_version_not_offered(project):
    clock = Clock()
    saver = Autosaver(project, delay_s=1, clock=clock)
    project.add_annotation(1, 1, _mask())
    saver.flush()
    _set_mtime(saver.target, 1_000)  # older, and based on the current file
    assert find_recovery(project.path) == []
    saver.target.write_text("garbage")
    _set_mtime(saver.target, 1_000)
    assert find_recovery(project.path) == []


def test_recovery_of_bad_sidecar_raises_load_error(project):
    sidecar_path(project.path).write_text("{ not json")
    with pytest.raises(ValueError, match=r"p\.autosave\.json"):
        load_recovery(project.path)
