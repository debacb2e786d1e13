"""`annotator export --format davis|mot` on a sequence project saved by the store."""

import json

import numpy as np
from PIL import Image

from annotator.cli import main
from annotator.io.coco_store import save_project
from annotator.io.document import Document
from tests.io.formats.test_sequence_exports import sequence_project


def test_export_davis_and_mot_from_the_command_line(tmp_path, capsys):
    root = tmp_path / "images"
    doc = Document.from_coco(sequence_project(root), root)
    project = save_project(doc, tmp_path / "seq.json")
    out = tmp_path / "davis"
    code = main(["export", str(project), "--format", "davis", "--output", str(out),
                 "--copy-images"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1 and "video 'walk.mp4'" in captured.err and not out.exists()
    assert main(["export", str(project), "--format", "davis", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{out}: 9 images, 14 annotations (davis)" in captured.out
    assert "without a track_id" in captured.err
    with Image.open(out / "Annotations" / "clip" / "00001.png") as png:
        assert sorted(np.unique(np.array(png)).tolist()) == [0, 3, 7]
    assert json.loads((out / "meta.json").read_text())["videos"]["walk"]["video"] == "walk.mp4"
    assert main(["export", str(project), "--format", "mot", "--output", str(tmp_path / "m")]) == 0
    gt = (tmp_path / "m" / "walk" / "gt" / "gt.txt").read_text().splitlines()
    assert [line.split(",")[:2] for line in gt] == [["1", "3"], ["2", "3"], ["3", "3"]]
