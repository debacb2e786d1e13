"""The one path rule (safe_relative) and the one number rule (is_number) io/ shares."""

import json
import os

import pytest

from annotator.io.checks import is_int, is_number, safe_relative
from annotator.io.coco_store import ProjectLoadError, load_project
from annotator.io.formats.common import relative_inside
from annotator.io.records import check_file_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "a.jpg"),
        ("sub/a.jpg", "sub/a.jpg"),
        ("sub\\a.jpg", "sub/a.jpg"),
        ("./sub//a.jpg", "sub/a.jpg"),
        ("a/../b.jpg", None),  # validation used to turn this into "b.jpg"
        ("../a.jpg", None),
        ("a/..", None),
        ("..", None),
        ("", None),
        (".", None),
        ("/etc/passwd", None),
        ("C:/x.jpg", None),
        ("C:\\Windows\\x.jpg", None),
        ("C:x.jpg", None),
        ("\\\\server\\share\\x.jpg", None),
        (None, None),
        (3, None),
    ],
)
def test_safe_relative_rule(name, expected):
    assert safe_relative(name) == expected
    if expected is None:
        with pytest.raises(ValueError, match="relative path inside the images root"):
            check_file_name(name)
    else:
        assert check_file_name(name) == expected


def test_safe_relative_absolute_inside_root_only(tmp_path):
    assert safe_relative(str(tmp_path / "sub" / "a.jpg"), tmp_path) == "sub/a.jpg"
    assert safe_relative(str(tmp_path / "a.jpg"), tmp_path / "sub") is None
    assert safe_relative(str(tmp_path), tmp_path) is None  # the root itself is no file
    assert safe_relative(f"{tmp_path}/sub/../a.jpg", tmp_path) is None
    assert safe_relative("/etc/passwd", tmp_path) is None
    assert safe_relative("a/../b.jpg", tmp_path) is None


def test_relative_inside_applies_the_same_rule_to_built_paths(tmp_path):
    assert relative_inside(tmp_path / "labels" / ".." / "a.jpg", tmp_path) == "a.jpg"
    assert relative_inside(tmp_path / ".." / "a.jpg", tmp_path) is None
    rel = os.path.relpath(tmp_path / "x" / "a.jpg")
    assert relative_inside(rel, tmp_path) == "x/a.jpg"


def test_project_file_name_with_dotdot_refused_not_rewritten(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a/../b.jpg", "width": 4, "height": 4}],
        "categories": [],
        "annotations": [],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectLoadError, match=r"images\[0\]\.file_name"):
        load_project(path)


@pytest.mark.parametrize(
    ("value", "number", "any_number"),
    [
        (1, True, True),
        (1.5, True, True),
        (10**400, True, True),  # math.isfinite(10**400) raises OverflowError
        (float("nan"), False, True),
        (float("inf"), False, True),
        (True, False, False),
        ("1", False, False),
        (None, False, False),
    ],
)
def test_is_number(value, number, any_number):
    assert is_number(value) is number
    assert is_number(value, finite=False) is any_number


def test_is_int():
    assert is_int(3) and not is_int(True) and not is_int(3.0) and not is_int([1])
