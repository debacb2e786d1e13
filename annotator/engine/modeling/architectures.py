"""The architecture keys the networks implement (``load_model(model_type=...)``).

Torch-free, so the model registry and ``annotator models list`` can validate names without
importing the networks.
"""

from __future__ import annotations

SAM2_MODEL_TYPES = ("sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+", "sam2.1_hiera_l")
"""SAM 2.1 with the Hiera tiny, small, base-plus and large image encoders."""

MODEL_TYPES = ("vit_h", "vit_l", "vit_b", "vit_t", "lite_medsam", *SAM2_MODEL_TYPES)
"""SAM ViT-H/L/B, MobileSAM (TinyViT, ``vit_t``), LiteMedSAM and SAM 2.1 (Hiera T/S/B+/L)."""
