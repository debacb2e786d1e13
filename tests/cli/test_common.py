"""What the sub-commands share (`annotator.cli._common`) and how they are registered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotator.cli import COMMAND_MODULES, build_parser
from annotator.cli._common import find_images, report_failures


def _sub_parsers() -> dict[str, object]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return dict(action.choices)


def test_each_sub_command_module_registers_its_command():
    assert set(_sub_parsers()) == {
        "gui", "amg", "segment", "track", "import", "export", "export-onnx", "evaluate", "models"
    }  # fmt: skip
    assert len(COMMAND_MODULES) == len(_sub_parsers())


@pytest.mark.parametrize("flag", ["--checkpoint", "--model-type", "--device"])
def test_model_options_are_defined_once(flag):
    """gui, amg and segment offer the same model flags with one help text and one default."""
    seen = set()
    for name in ("gui", "amg", "segment"):
        (action,) = [a for a in _sub_parsers()[name]._actions if flag in a.option_strings]
        seen.add((action.help, action.default, tuple(action.choices or ())))
    assert len(seen) == 1


def test_building_the_parser_does_not_import_torch():
    code = "import sys; from annotator.cli import build_parser; build_parser(); "
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_find_images_lists_a_folder_or_takes_one_file(tmp_path: Path):
    import cv2
    import numpy as np

    (tmp_path / "sub").mkdir()
    for rel in ("a.png", "sub/b.png"):
        cv2.imwrite(str(tmp_path / rel), np.zeros((4, 4, 3), np.uint8))
    root, paths = find_images(tmp_path, recursive=True)
    assert root == tmp_path and sorted(p.name for p in paths) == ["a.png", "b.png"]
    assert find_images(tmp_path / "a.png", recursive=False) == (tmp_path, [tmp_path / "a.png"])
    with pytest.raises(FileNotFoundError, match="nope"):
        find_images(tmp_path / "nope", recursive=False)


def test_failure_report_lists_each_failure_and_gives_exit_code_1(capsys):
    assert report_failures([], "failed images:") == 0
    assert capsys.readouterr().err == ""
    assert report_failures([("a.jpg", "corrupt"), ("b.jpg", "gone")], "failed images:") == 1
    assert capsys.readouterr().err.splitlines() == [
        "failed images:",
        "  a.jpg: corrupt",
        "  b.jpg: gone",
    ]
