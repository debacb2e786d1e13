"""Model ▸ Device and Precision show what the model really runs with (issue 15 item 7,
issue 12 section 1): a failed switch leaves the menus, and the status bar, as they were."""

from __future__ import annotations


def _checked(win, title: str) -> str:
    win.model_menu.aboutToShow.emit()  # the menu rebuilds its submenus when shown
    menus = [a.menu() for a in win.model_menu.actions() if a.menu() and a.text() == title]
    return next(a.text() for a in menus[-1].actions() if a.isChecked())


def _choose(win, title: str, value: str) -> None:
    win.model_menu.aboutToShow.emit()
    menus = [a.menu() for a in win.model_menu.actions() if a.menu() and a.text() == title]
    next(a for a in menus[-1].actions() if a.text() == value).trigger()


def test_cuda_on_a_cpu_only_machine_keeps_the_menu_on_the_device_in_use(
    qtbot, make_window, answers
):
    asked, _ = answers
    win, _ = make_window()
    assert _checked(win, "Device") == "auto"
    _choose(win, "Device", "cuda")
    qtbot.waitUntil(lambda: "Model error" in asked)
    assert _checked(win, "Device") == "auto"
    assert win.placement == {"device": "auto", "dtype": "auto"}


def test_choosing_bf16_reloads_and_the_status_bar_says_so(qtbot, make_window):
    win, _ = make_window()
    _choose(win, "Precision", "bfloat16")
    qtbot.waitUntil(lambda: win.placement["dtype"] == "bfloat16")
    assert _checked(win, "Precision") == "bfloat16"
    assert win.status.model.text() == "fake · CPU · bf16"
