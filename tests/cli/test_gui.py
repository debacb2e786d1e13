"""`annotator gui` and plain `annotator` reach run_app with the right arguments."""

from __future__ import annotations

import annotator.gui.app as app_module
from annotator.cli import main


def test_plain_annotator_opens_the_gui_on_sample_data(monkeypatch):
    calls = []
    monkeypatch.setattr(app_module, "run_app", lambda *a: calls.append(a) or 0)
    assert main([]) == 0
    assert calls == [(None, None, "auto", "auto", "auto", None)]
    assert app_module.default_path().name == "sample_data"
    assert (app_module.default_path() / "chelsea.jpg").exists()


def test_gui_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr(app_module, "run_app", lambda *a: calls.append(a) or 0)
    argv = ["gui", "photos/", "--checkpoint", "m.pth", "--model-type", "vit_b", "--device", "cpu"]
    assert main([*argv, "--dtype", "bfloat16", "--images-root", "pics/"]) == 0
    assert calls == [("photos/", "m.pth", "vit_b", "cpu", "bfloat16", "pics/")]
