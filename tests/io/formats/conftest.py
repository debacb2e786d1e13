from pathlib import Path
from typing import Any

import pytest

from tests.io.formats.format_fixtures import make_project


@pytest.fixture
def project(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A project dict and the images root holding its (synthetic) images."""
    root = tmp_path / "images"
    return make_project(root), root
