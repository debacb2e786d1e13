"""Brush/eraser strokes edit the current mask; one stroke is one edit."""

import numpy as np

from annotator.gui.tools import BrushTool, Button, PointerEvent


def test_brush_stroke_paints_a_continuous_line_and_commits_once():
    commits = []
    tool = BrushTool(lambda: None, commits.append, (60, 40), radius=2)
    tool.press(PointerEvent(5, 20))
    tool.drag(PointerEvent(30, 20))
    assert commits == []  # nothing committed mid-stroke
    tool.release(PointerEvent(50, 20))
    assert len(commits) == 1
    mask = commits[0]
    assert mask.shape == (40, 60) and mask.dtype == bool
    assert mask[20, 5:51].all()  # no gaps between the sampled positions
    assert not mask[10].any()


def test_eraser_removes_and_right_button_inverts():
    base = np.ones((40, 60), bool)
    commits = []
    tool = BrushTool(lambda: base, commits.append, (60, 40), erase=True, radius=3)
    tool.press(PointerEvent(10, 10))
    tool.release(PointerEvent(10, 10))
    assert not commits[0][10, 10] and commits[0][30, 50]
    assert base.all()  # the input mask is not modified in place
    hole = commits[0]
    tool2 = BrushTool(lambda: hole, commits.append, (60, 40), erase=True, radius=3)
    tool2.press(PointerEvent(10, 10, Button.RIGHT))
    tool2.release(PointerEvent(10, 10, Button.RIGHT))
    assert commits[1].all()
