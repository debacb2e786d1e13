"""Hugging Face checkpoints on disk: the transformers folder layout, and the downloaded models.

A download with ``annotator models download hf:owner/name`` puts the files in huggingface_hub's
cache (shared with transformers) and records the pinned commit and each file's published hash
in ``hf_models.json`` in the models folder, so ``hf:owner/name`` resolves to that exact
snapshot, offline too. A repository fetched by transformers (in the cache, not recorded) is
found through the cache's ``refs/<revision>`` file. Torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_text
from annotator.engine.weights.hf_layout import WEIGHT_CHOICES, is_hf_folder
from annotator.engine.weights.hub import (
    HubError,
    HubRef,
    HubSnapshot,
    fetch_hub_files,
    fetch_hub_weights,
    hub_cache_dir,
    hub_offline,
    repo_cache_folder,
)
from annotator.engine.weights.store import (
    ModelNotInstalledError,
    ModelStoreError,
    models_dir,
    read_manifest,
)

HF_MANIFEST = "hf_models.json"
# transformers model_type -> what the engine builds from it
LOADABLE = {"sam": "SAM", "sam2": "SAM 2.1", "sam2_video": "SAM 2.1"}


@dataclass(frozen=True)
class HfModel:
    """A recorded hub download: ``folder`` is the snapshot of ``commit``."""

    name: str  # hf:owner/name or hf:owner/name@revision, as downloaded
    repo_id: str
    revision: str
    commit: str
    folder: Path
    model_type: str
    size: int
    files: tuple[dict[str, Any], ...]  # name, size, sha256 / git_sha1

    @property
    def present(self) -> bool:
        return all((self.folder / f["name"]).is_file() for f in self.files)


def hf_models(directory: Path | None = None) -> dict[str, HfModel]:
    """The recorded hub downloads, by name."""
    manifest = (models_dir() if directory is None else directory) / HF_MANIFEST
    raw = read_manifest(manifest, "hub models")
    out = {}
    for name, item in raw.items():
        out[name] = HfModel(
            name=name,
            repo_id=item["repo_id"],
            revision=item["revision"],
            commit=item["commit"],
            folder=Path(item["folder"]),
            model_type=item["model_type"],
            size=int(item["size"]),
            files=tuple(item["files"]),
        )
    return out


def record_hf_model(
    ref: HubRef, snapshot: HubSnapshot, model_type: str, directory: Path | None = None
) -> HfModel:
    """Remember a verified download under ``str(ref)`` (replacing an older pin of that name)."""
    directory = models_dir() if directory is None else directory
    files = tuple(_file_record(f.name, f.size, f.sha256, f.git_sha1) for f in snapshot.files)
    model = HfModel(
        name=str(ref),
        repo_id=snapshot.repo_id,
        revision=snapshot.revision,
        commit=snapshot.commit,
        folder=snapshot.folder,
        model_type=model_type,
        size=sum(f.size for f in snapshot.files),
        files=files,
    )
    models = hf_models(directory)
    models[model.name] = model
    raw = {}
    for m in models.values():
        item = asdict(m)
        item.pop("name")
        item["folder"] = str(m.folder)
        item["files"] = list(m.files)
        raw[m.name] = item
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / HF_MANIFEST, json.dumps(raw, indent=2) + "\n")
    return model


def _file_record(name: str, size: int, sha256: str | None, sha1: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "size": size}
    if sha256:
        record["sha256"] = sha256
    if sha1:
        record["git_sha1"] = sha1
    return record


def resolve_hf(ref: HubRef, directory: Path | None = None) -> Path:
    """The snapshot folder for ``hf:owner/name[@revision]``: the recorded download, else the
    snapshot huggingface_hub's cache holds for that revision. No network."""
    recorded = hf_models(directory).get(str(ref))
    if recorded is not None:
        if recorded.present:
            return recorded.folder
        raise ModelNotInstalledError(
            f"{ref} was downloaded to {recorded.folder} but its files are gone (cache "
            f"cleaned?); run `annotator models download {ref}` again"
        )
    cached = cached_snapshot(ref.repo_id, ref.revision or "main")
    if cached is not None:
        return cached
    raise ModelNotInstalledError(
        f"{ref} is not downloaded (not in {hub_cache_dir()}); download it with "
        f"`annotator models download {ref}`"
    )


def cached_snapshot(repo_id: str, revision: str, cache_dir: Path | None = None) -> Path | None:
    """A complete transformers folder for ``repo_id@revision`` in the hub cache, if any."""
    repo = repo_cache_folder(repo_id, cache_dir)
    ref = repo / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    folder = repo / "snapshots" / commit
    return folder if is_hf_folder(folder) else None


def hf_model_type(config: Mapping[str, Any]) -> str:
    """The engine's architecture key a transformers config.json describes, without torch:
    ``vit_b``/``vit_l``/``vit_h`` for SAM by width, the SAM 2.1 size by Hiera width and
    blocks. Raises ModelStoreError for other model types."""
    kind = config.get("model_type")
    if kind == "sam":
        dim = (config.get("vision_config") or {}).get("hidden_size", 768)
        by_dim = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}
        if dim in by_dim:
            return by_dim[dim]
        raise ModelStoreError(f"a SAM checkpoint of width {dim} is not a ViT-B/L/H")
    if kind in ("sam2", "sam2_video"):
        from annotator.engine.modeling.sam2 import SAM2_CONFIGS  # imports torch: only here

        trunk = (config.get("vision_config") or {}).get("backbone_config") or {}
        shape = (trunk.get("hidden_size"), tuple(trunk.get("blocks_per_stage") or ()))
        for spec in SAM2_CONFIGS.values():
            if (spec.embed_dim, spec.stages) == shape:
                return spec.model_type
        raise ModelStoreError(f"a SAM 2 Hiera of width, blocks {shape} is not a SAM 2.1 size")
    raise ModelStoreError(
        f"its config.json model_type is {kind!r}; the engine loads transformers "
        f"{', '.join(repr(k) for k in LOADABLE)} checkpoints"
    )


def download_hf_model(ref: HubRef, directory: Path | None = None, timeout: float = 30.0) -> HfModel:
    """Download a transformers SAM / SAM 2 checkpoint at a pinned commit, verify it, record it.

    config.json comes first (at ``ref.revision``, default main; the commit it resolves to is
    pinned for the weights), so a repository the engine cannot load is refused before its
    weights are fetched. Raises HubError (network, access, hashes) or ModelStoreError.
    """
    recorded = hf_models(directory).get(str(ref))
    if hub_offline() and recorded is not None and recorded.present:
        return recorded  # nothing to ask the hub; the verified pin stands
    head = fetch_hub_files(ref.repo_id, ["config.json"], revision=ref.revision, timeout=timeout)
    try:
        config = json.loads(head.files[0].path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HubError(f"{ref}: config.json is not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise HubError(f"{ref}: config.json holds no JSON object")
    try:
        model_type = hf_model_type(config)
    except ModelStoreError as exc:
        raise ModelStoreError(f"{ref} cannot be loaded: {exc}") from None
    weights = fetch_hub_weights(ref.repo_id, WEIGHT_CHOICES, revision=head.commit, timeout=timeout)
    snapshot = HubSnapshot(
        ref.repo_id,
        head.revision,
        head.commit,
        head.folder,
        head.files + weights.files,
        head.endpoint,
    )
    return record_hf_model(ref, snapshot, model_type, directory)
