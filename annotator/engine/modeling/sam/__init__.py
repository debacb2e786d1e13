"""SAM 1 family: SAM ViT-B/L/H, MobileSAM (TinyViT) and LiteMedSAM, as in segment-anything."""

from annotator.engine.modeling.sam.build import VIT_CONFIGS, ModelSpec, build_model
from annotator.engine.modeling.sam.sam import Sam

__all__ = ["VIT_CONFIGS", "ModelSpec", "Sam", "build_model"]
