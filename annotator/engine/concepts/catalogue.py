"""The SAM 3 checkpoint the model manager knows: where it lives, its size, how to get access.

``facebook/sam3`` is gated on the Hugging Face Hub: a user accepts Meta's SAM licence on the
model page, logged in, then gives a token of that account (``hf auth login`` or ``HF_TOKEN``).
Downloads go through annotator.engine.weights.hub (pinned commit, every file checked against
the hash the hub publishes, HF_ENDPOINT / HF_HUB_OFFLINE / HF_TOKEN honoured), into
huggingface_hub's cache, where transformers finds the same files. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from annotator.engine.weights.hub import (
    HubSnapshot,
    fetch_hub_files,
    hub_cache_dir,
    hub_endpoint,
    repo_cache_folder,
)
from annotator.engine.weights.store import ModelNotInstalledError


@dataclass(frozen=True)
class ConceptModelInfo:
    """A transformers SAM 3 checkpoint on the hub. ``size`` is approximate (bytes): the hub
    publishes each file's SHA-256, which the download checks, but no source pins the size."""

    name: str
    repo_id: str
    architecture: str
    parameters: int
    size: int
    licence: str
    gated: bool
    files: tuple[str | tuple[str, ...], ...]
    description: str

    def access_hint(self) -> str:
        """One line: how to get the weights, gated licence and login included."""
        steps = f"`annotator models download {self.name}`"
        if not self.gated:
            return f"download with {steps}"
        return (
            f"{self.repo_id} is gated: accept its licence at {hub_endpoint()}/{self.repo_id} "
            f"while logged in, run `hf auth login` (or set HF_TOKEN), then {steps}"
        )


# The files transformers reads (what ``save_pretrained`` writes for Sam3Model and its
# processor); a tuple takes the first one the repository has.
_FILES = (
    "config.json",
    "model.safetensors",
    ("processor_config.json", "preprocessor_config.json"),
    "tokenizer.json",
    "tokenizer_config.json",
)

SAM3 = ConceptModelInfo(
    name="sam3",
    repo_id="facebook/sam3",
    architecture="SAM 3 (transformers Sam3Model)",
    parameters=840_376_374,  # Sam3Model(Sam3Config()), counted by benchmarks/concepts.py
    size=3_450_000_000,  # float32 safetensors of the detector and tracker, about 3.4 GB
    licence="SAM License (gated)",
    gated=True,
    files=_FILES,
    description="Text and exemplar prompts: every instance of a phrase; slow on CPU",
)

CONCEPT_MODELS = {SAM3.name: SAM3}


def find_concept_model(name: str) -> ConceptModelInfo | None:
    """The catalogue entry for ``name`` ("sam3", "SAM3", "facebook/sam3", "hf:facebook/sam3")."""
    key = name.strip().lower().removeprefix("hf:")
    return next((m for m in CONCEPT_MODELS.values() if key in (m.name, m.repo_id.lower())), None)


def download_concept_model(
    info: ConceptModelInfo, revision: str | None = None, timeout: float = 30.0
) -> HubSnapshot:
    """Fetch and verify ``info``'s files at one pinned commit; raises HubError subclasses
    whose messages are one line (gated, no token, offline, not found, checksum)."""
    return fetch_hub_files(info.repo_id, info.files, revision=revision, timeout=timeout)


def installed_folder(info: ConceptModelInfo, revision: str = "main") -> Path | None:
    """The cached snapshot folder of ``info`` at ``revision``, when its config and weights are
    there; None otherwise. Reads the hub cache only."""
    repo = repo_cache_folder(info.repo_id, hub_cache_dir())
    ref = repo / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    folder = repo / "snapshots" / commit
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    return None


def resolve_concept_checkpoint(text: str | None) -> Path:
    """What a user typed for a SAM 3 ``--checkpoint`` -> a checkpoint folder.

    None, "sam3" or "facebook/sam3": the downloaded snapshot; an existing folder: itself.
    Raises ModelNotInstalledError with the access hint when the weights are not downloaded.
    """
    if text is not None and Path(text).expanduser().is_dir():
        return Path(text).expanduser()
    info = find_concept_model(text or SAM3.name)
    if info is None:
        raise ModelNotInstalledError(
            f"{text}: not a SAM 3 checkpoint folder or a known SAM 3 model "
            f"({', '.join(CONCEPT_MODELS)})"
        )
    folder = installed_folder(info)
    if folder is None:
        raise ModelNotInstalledError(f"{info.name} is not downloaded: {info.access_hint()}")
    return folder
