"""The one resolver from what a user typed (a path, a model name, nothing) to a checkpoint file.

Used by ``load_model``, the CLIs (``--checkpoint``) and the app's Model menu, so a name means
the same file everywhere. Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from annotator.engine.weights.hf_layout import is_hf_folder
from annotator.engine.weights.hf_store import resolve_hf
from annotator.engine.weights.hub import HubError, HubRef
from annotator.engine.weights.registry import ModelInfo, find_model, known_models
from annotator.engine.weights.store import (
    ModelNotInstalledError,
    ModelStoreError,
    local_models,
    model_status,
    models_dir,
    not_installed_message,
)


class CheckpointFileMissing(ModelStoreError):
    """What was typed names a file (it has a suffix or a folder), and there is none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"checkpoint file not found: {path}")


def resolve_checkpoint(
    name_or_path: str | os.PathLike[str] | None,
    registry: Mapping[str, ModelInfo] | None = None,
    directory: Path | None = None,
) -> Path | None:
    """Turn what a user typed for ``--checkpoint`` into a file, or None for the bundled default.

    An existing file (or transformers checkpoint folder) wins; then ``hf:owner/name[@rev]``
    (the downloaded snapshot folder); then a known model name (its installed file, ``None``
    for the bundled LiteMedSAM); then a name added with ``models add``. Raises
    ModelNotInstalledError for a known model that is not downloaded yet, ModelStoreError for
    anything else unusable.
    """
    if name_or_path is None or str(name_or_path).strip() in ("", "default"):
        return None
    text = str(name_or_path).strip()
    path = Path(text).expanduser()
    if path.is_file() or is_hf_folder(path):
        return path
    directory = models_dir() if directory is None else directory
    try:
        ref = HubRef.parse(text)
    except HubError as exc:
        raise ModelStoreError(str(exc)) from None
    if ref is not None:
        return resolve_hf(ref, directory)
    models = known_models() if registry is None else registry
    info = find_model(text, models)
    if info is not None:
        status = model_status(info, directory)
        if status.state == "bundled":
            return None
        if status.state == "installed":
            return status.path
        raise ModelNotInstalledError(not_installed_message(status, directory))
    local = local_models(directory).get(text)
    if local is not None:
        if not local.path.is_file():
            raise ModelStoreError(
                f"model {text!r} was added from {local.source} but {local.path} is gone"
                + (" (it was a link; the original moved?)" if local.linked else "")
            )
        return local.path
    if path.suffix or os.sep in text or "/" in text:
        raise CheckpointFileMissing(path)
    names = ", ".join([*models, *local_models(directory)])
    raise ModelStoreError(
        f"{text!r} is neither a checkpoint file nor a known model name. Known models: {names}"
    )
