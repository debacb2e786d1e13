"""The polygon tool without a window: tracing (parts and holes), vertex drag, insert, delete."""

from __future__ import annotations

import numpy as np

from annotator.gui.tools import Button, PointerEvent, PolygonTool


def _mask():
    m = np.zeros((120, 200), bool)
    m[20:80, 20:100] = True
    m[40:60, 40:70] = False  # a hole
    m[30:60, 140:180] = True  # a second part
    return m


class Holder:
    def __init__(self, mask):
        self.mask = mask
        self.commits = []

    def commit(self, mask):
        self.commits.append(mask)
        self.mask = mask.copy()  # as the session keeps a copy


def _tool():
    h = Holder(_mask())
    return h, PolygonTool(lambda: h.mask, h.commit, (200, 120), tolerance=0.5)


def ev(x, y, button=Button.LEFT, shift=False):
    return PointerEvent(x, y, button, shift, tolerance=3.0)


def test_traces_parts_and_holes_and_rasterises_back_exactly():
    h, tool = _tool()
    rings = tool.rings
    assert sorted(r.hole for r in rings) == [False, False, True]
    big = next(r for r in rings if not r.hole and r.points[:, 0].min() < 50)
    hole = next(r for r in rings if r.hole)
    assert hole.part == big.part  # the hole belongs to the part around it
    np.testing.assert_array_equal(tool.rasterise(), h.mask)


def test_dragging_a_vertex_moves_the_edge_and_keeps_the_hole():
    h, tool = _tool()
    tool.press(ev(20, 20))  # the outer ring's top-left corner (pixel-edge frame)
    tool.drag(ev(10, 20))
    assert tool.working is None and h.commits == []  # only the outline moves while dragging
    assert any(np.all(r.points == (10, 20), axis=1).any() for r in tool.rings)
    tool.release(ev(10, 10))
    assert len(h.commits) == 1
    out = h.commits[0]
    assert out[15, 15] and not out[50, 50] and out[45, 160]  # moved, hole kept, part kept
    assert len(tool.rings) == 3  # not traced again: the rings stay as the user left them


def test_click_on_an_edge_inserts_and_right_click_deletes_a_vertex():
    h, tool = _tool()
    outer = next(r for r in tool.rings if not r.hole and r.points[:, 0].min() < 50)
    n = len(outer.points)
    tool.click(ev(60, 20))  # the middle of the top edge
    assert len(outer.points) == n + 1 and h.commits == []  # the mask is unchanged so far
    tool.press(ev(60, 20))
    tool.release(ev(60, 5))  # pull the new vertex up: a peak
    assert h.commits[-1][8, 60] and not h.commits[-1][8, 25]
    tool.click(ev(60, 5, Button.RIGHT))
    assert len(outer.points) == n and not h.commits[-1][8, 60]


def test_a_changed_mask_is_traced_again():
    h, tool = _tool()
    h.mask = np.zeros((120, 200), bool)
    h.mask[0:10, 0:10] = True
    assert len(tool.rings) == 1
