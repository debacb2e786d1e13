"""Fixtures of the session tests: a session on the sample folder (its first image open) and a
Find review on it that records its queries."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.gui.session import AppSession
from annotator.gui.session.find import FindRequested, FindSession
from annotator.gui.session.project_io import open_project


@pytest.fixture
def session(folder):
    s = AppSession(autosave_delay_s=3600)
    opened = open_project(folder)
    s.adopt(opened.doc, opened.images)
    s.open_image(opened.images[0])
    yield s
    s.close()


def blob(shape, x0, y0, x1, y1):
    """A rectangle: ((H, W) bool mask, its XYXY box in image pixels)."""
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask, (float(x0), float(y0), float(x1), float(y1))


@pytest.fixture
def find(session):
    """A FindSession on ``session``; ``find.requests`` lists the FindRequested events."""
    f = FindSession(session)
    f.requests = []
    session.events.connect(FindRequested, f.requests.append)
    return f
