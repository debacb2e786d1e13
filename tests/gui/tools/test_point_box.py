"""Point and box tools as plain state machines (no Qt)."""

from annotator.gui.tools import BoxTool, Button, PointerEvent, PointTool


def ev(x, y, button=Button.LEFT, shift=False, tol=4.0):
    return PointerEvent(x, y, button, shift, tol)


def test_point_tool_labels_left_right_and_shift():
    added = []
    tool = PointTool(lambda x, y, label: added.append((x, y, label)))
    tool.click(ev(10, 20))
    tool.click(ev(11, 21, Button.RIGHT))
    tool.click(ev(12, 22, shift=True))
    tool.click(ev(13, 23, Button.MIDDLE))
    assert added == [(10, 20, 1), (11, 21, 0), (12, 22, 0)]


class BoxHost:
    def __init__(self):
        self.box = None
        self.sets = []

    def set_box(self, box):
        self.box = box
        self.sets.append(box)


def test_box_drag_draws_normalised_clipped_box():
    host = BoxHost()
    tool = BoxTool(host.set_box, (100, 80), lambda: host.box)
    tool.press(ev(90, 10))
    tool.drag(ev(50, 40))
    assert tool.preview == (50, 10, 90, 40)
    tool.release(ev(-5, 200))  # outside the image: clipped
    assert host.sets == [(0.0, 10.0, 90.0, 80.0)]
    assert tool.preview is None


def test_box_handle_drag_moves_only_that_corner():
    host = BoxHost()
    host.box = (10.0, 10.0, 50.0, 40.0)
    tool = BoxTool(host.set_box, (100, 80), lambda: host.box)
    tool.press(ev(51, 41))  # within tolerance of the bottom-right handle
    tool.drag(ev(70, 60))
    tool.release(ev(70, 60))
    assert host.sets == [(10.0, 10.0, 70.0, 60.0)]
    tool.press(ev(40, 10.5))  # top edge handle is at x=40 (mid), y=10
    tool.release(ev(40, 5))
    assert host.sets[-1] == (10.0, 5.0, 70.0, 60.0)


def test_tiny_drag_and_click_make_no_box():
    host = BoxHost()
    tool = BoxTool(host.set_box, (100, 80), lambda: host.box)
    tool.press(ev(10, 10))
    tool.release(ev(11, 11))
    tool.click(ev(30, 30))
    assert host.sets == []
