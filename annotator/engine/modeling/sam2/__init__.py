"""SAM 2.1 family (Hiera T/S/B+/L), as in Meta's sam2: image path, memory modules' weights."""

from annotator.engine.modeling.sam2.build import SAM2_CONFIGS, Sam2Spec, build_sam2
from annotator.engine.modeling.sam2.sam2 import Sam2

__all__ = ["SAM2_CONFIGS", "Sam2", "Sam2Spec", "build_sam2"]
