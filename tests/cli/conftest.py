"""Fixtures the sub-command tests share: sample photos, a tiny model, running the CLI, and a
project written by `annotator import`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from annotator.cli import main
from tests.io.formats.format_fixtures import make_project

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture
def sample() -> Path:
    """The bundled sample_data/ folder (photos and detections.json)."""
    return SAMPLE


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two small photos and a corrupt JPEG."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("chelsea", "coffee"):
        image = cv2.imread(str(SAMPLE / f"{name}.jpg"))
        small = cv2.resize(image, (image.shape[1] // 3, image.shape[0] // 3))
        cv2.imwrite(str(root / f"{name}.jpg"), small)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


@pytest.fixture
def tiny_model(monkeypatch):
    """Most tests exercise the command, not the model: a tiny reference model keeps them fast."""
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    predictor = SamPredictor(tiny_sam(seed=0))
    monkeypatch.setattr("annotator.cli.amg.load_predictor", lambda args: predictor)
    return predictor


@pytest.fixture
def run(capsys) -> Callable[[list[str]], tuple[int, str]]:
    """Run `annotator ARGV` in-process: (exit code, stderr)."""

    def run_cli(argv: list[str]) -> tuple[int, str]:
        code = main(argv)
        return code, capsys.readouterr().err

    return run_cli


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, Path]:
    """A COCO file written by 'another tool' and its images root."""
    root = tmp_path / "images"
    coco = make_project(root)
    coco["info"] = {"description": "elsewhere"}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    return path, root


def import_project(src: Path, root: Path, out: Path, *extra: str, fmt: str = "coco") -> int:
    return main(["import", str(src), "--format", fmt, "--images-root", str(root),
                 "--output", str(out), *extra])  # fmt: skip


@pytest.fixture
def run_import() -> Callable[..., int]:
    """`annotator import SRC --format FMT --images-root ROOT --output OUT *EXTRA`: exit code."""
    return import_project


@pytest.fixture
def project_file(source, tmp_path) -> Path:
    """A project written by `annotator import` from `source`."""
    src, root = source
    assert import_project(src, root, tmp_path / "project.json") == 0
    return tmp_path / "project.json"
