"""The image list during a propagation: a frame whose status changes is updated in place (the
other rows stay the same items; rebuilding a long sequence's list every frame was the largest
UI cost of a propagation), and the list is rebuilt when a filter may hide or show a row."""

from __future__ import annotations

from annotator.gui.session.project_io import ImageStatus
from annotator.gui.widgets.panels.image_list import ImageListPanel

NAMES = [f"clip/{i:05d}.jpg" for i in range(5)]


def rows(changed: dict[int, ImageStatus]) -> list[tuple[str, ImageStatus]]:
    return [(n, changed.get(i, ImageStatus.UNTOUCHED)) for i, n in enumerate(NAMES)]


def test_a_changed_status_updates_its_row_in_place(qtbot):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.set_images(rows({}), NAMES[0])
    items = [panel.list.item(i) for i in range(5)]
    panel.set_images(rows({3: ImageStatus.IN_PROGRESS}), NAMES[3])
    assert [panel.list.item(i) for i in range(5)] == items  # not rebuilt
    assert items[3].text() == f"◐  {NAMES[3]}" and items[3].toolTip() == "in progress"
    assert items[0].text() == f"○  {NAMES[0]}"
    assert panel.list.currentItem() is items[3]
    panel.set_images(rows({3: ImageStatus.IN_PROGRESS}), None)
    assert panel.list.currentItem() is None


def test_a_status_filter_or_other_images_rebuild_the_list(qtbot):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.set_images(rows({}), NAMES[0])
    panel.status_filter.setCurrentText("In progress")
    assert panel.visible_names() == []
    panel.set_images(rows({1: ImageStatus.IN_PROGRESS}), NAMES[0])
    assert panel.visible_names() == [NAMES[1]]
    panel.status_filter.setCurrentText("All")
    panel.set_images(rows({})[:3], NAMES[0])
    assert panel.visible_names() == NAMES[:3]
