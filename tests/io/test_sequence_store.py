"""Sequence projects: frames (video, frame_index) and track ids in the document, the file, the
validator and autosave; bad values give errors that name the place and change nothing."""

import json

import numpy as np
import pytest

from annotator.io.autosave import Autosaver, load_recovery
from annotator.io.coco_store import ProjectLoadError, load_project, save_project
from annotator.io.document import Document
from annotator.io.sequence import group_frames, next_track_id, video_frame_name

H, W = 24, 32


def _mask(x: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[4:12, x : x + 6] = True
    return mask


def _sequence(root, frames: int = 4) -> Document:
    """Two tracked objects moving right over `frames` frames of a folder ``clip``."""
    doc = Document(root)
    for i in range(frames):
        image = doc.add_image(f"clip/{i:05d}.jpg", W, H, video="clip", frame_index=i)
        doc.add_annotation(image, 1, _mask(i), track_id=1)
        doc.add_annotation(image, 1, _mask(20 + i), track_id=np.int64(2))
    return doc


def test_frames_and_tracks_round_trip(tmp_path):
    doc = _sequence(tmp_path)
    path = save_project(doc, tmp_path / "seq.json")
    loaded = load_project(path)
    assert loaded.to_coco() == doc.to_coco()
    frame = loaded.image_by_frame("clip", 2)
    assert frame is not None and frame.file_name == "clip/00002.jpg"
    assert frame.extra == {"video": "clip", "frame_index": 2}
    assert [a.provenance["track_id"] for a in loaded.annotations_for(frame.id)] == [1, 2]
    data = json.loads(path.read_text(encoding="utf-8"))
    stored = data["annotations"][1]["track_id"]
    assert stored == 2 and type(stored) is int
    videos = group_frames(data["images"])
    assert list(videos) == ["clip"] and [im["frame_index"] for im in videos["clip"]] == [0, 1, 2, 3]
    assert next_track_id(a["track_id"] for a in data["annotations"]) == 3


def test_video_frame_names_sit_where_an_extraction_puts_them():
    assert video_frame_name("run.mp4", 12) == "run/00012.jpg"
    assert video_frame_name("clips/run.mp4", 123456) == "clips/run/123456.jpg"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"frame_index": 0}, "'video' is missing"),
        ({"video": "clip"}, "'frame_index' is missing"),
        ({"video": "", "frame_index": 0}, "video must be a non-empty string"),
        ({"video": 3, "frame_index": 0}, "video must be a non-empty string"),
        ({"video": "clip", "frame_index": -1}, "frame_index must be an integer >= 0"),
        ({"video": "clip", "frame_index": "3"}, "frame_index must be an integer >= 0"),
        ({"video": "clip", "frame_index": True}, "frame_index must be an integer >= 0"),
        ({"video": "clip", "frame_index": 1}, "frame 1 of video 'clip' is already image 2"),
    ],
)
def test_bad_frame_keys_refused_by_the_document(tmp_path, extra, match):
    doc = _sequence(tmp_path)
    before = doc.to_coco()
    with pytest.raises(ValueError, match=match):
        doc.add_image("other.jpg", W, H, **extra)
    assert doc.to_coco() == before and doc.image_by_file_name("other.jpg") is None


@pytest.mark.parametrize("track_id", [0, -3, 1.5, "1", True, [1], 2**31])
def test_bad_track_ids_refused_by_the_document(tmp_path, track_id):
    doc = _sequence(tmp_path, frames=1)
    before = doc.to_coco()
    with pytest.raises(ValueError, match="track_id must be an integer from 1"):
        doc.add_annotation(1, 1, _mask(3), track_id=track_id)
    with pytest.raises(ValueError, match="track_id must be an integer from 1"):
        doc.replace_annotation(1, track_id=track_id)
    assert doc.to_coco() == before


def test_track_id_can_be_changed_and_undone(tmp_path):
    doc = _sequence(tmp_path, frames=1)
    doc.replace_annotation(1, track_id=7)
    assert doc.annotation(1).provenance["track_id"] == 7
    doc.undo()
    assert doc.annotation(1).provenance["track_id"] == 1


def _edit(data, section, index, key, value):
    if value is _DROP:
        del data[section][index][key]
    else:
        data[section][index][key] = value


_DROP = object()


@pytest.mark.parametrize(
    ("section", "key", "value", "place", "reason"),
    [
        ("images", "frame_index", -2, "images[1].frame_index", "must be an integer >= 0"),
        ("images", "frame_index", 1.0, "images[1].frame_index", "must be an integer >= 0"),
        ("images", "frame_index", _DROP, "images[1].frame_index", "'frame_index' is missing"),
        ("images", "video", None, "images[1].video", "must be a non-empty string"),
        ("images", "video", ["clip"], "images[1].video", "must be a non-empty string"),
        ("images", "frame_index", 0, "images[1]", "frame 0 of video 'clip' is already image 1"),
        ("annotations", "track_id", 0, "annotations[1].track_id", "must be an integer from 1"),
        ("annotations", "track_id", "2", "annotations[1].track_id", "must be an integer from 1"),
        ("annotations", "track_id", None, "annotations[1].track_id", "must be an integer from 1"),
    ],
)
def test_bad_sequence_keys_in_a_file_name_the_place_and_change_nothing(
    tmp_path, section, key, value, place, reason
):
    path = save_project(_sequence(tmp_path), tmp_path / "seq.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    _edit(data, section, 1, key, value)
    path.write_text(json.dumps(data), encoding="utf-8")
    raw = path.read_bytes()
    with pytest.raises(ProjectLoadError) as info:
        load_project(path)
    assert [(p.place, p.reason) for p in info.value.problems if p.place == place]
    assert any(reason in p.reason for p in info.value.problems), info.value.problems
    assert path.read_bytes() == raw  # nothing rewritten, nothing lost


def test_autosave_recovers_frames_and_tracks(tmp_path):
    doc = _sequence(tmp_path, frames=2)
    save_project(doc, tmp_path / "seq.json")
    saver = Autosaver(doc, delay_s=1)
    frame = doc.add_image("clip/00002.jpg", W, H, video="clip", frame_index=2)
    doc.add_annotation(frame, 1, _mask(5), track_id=2)
    saver.flush()
    recovered = load_recovery(doc.path)
    assert recovered.to_coco()["images"] == doc.to_coco()["images"]
    assert recovered.image_by_frame("clip", 2).id == frame
    assert recovered.annotations_for(frame)[0].provenance["track_id"] == 2


def test_a_mask_fixed_by_hand_is_no_longer_a_propagated_one(tmp_path):
    doc = _sequence(tmp_path, frames=1)
    doc.replace_annotation(1, propagated=True)
    doc.replace_annotation(2, propagated=True)
    doc.replace_annotation(1, mask=_mask(9))  # fixed by hand
    doc.replace_annotation(2, mask=_mask(25), propagated=True)  # a propagation's new result
    doc.set_category(2, 1)  # not a mask edit: the flag stays
    assert "propagated" not in doc.annotation(1).provenance
    assert doc.annotation(2).provenance["propagated"] is True
    doc.undo()
    doc.undo()
    doc.undo()
    assert doc.annotation(1).provenance["propagated"] is True
