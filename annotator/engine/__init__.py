"""Model layer: SAM-family networks, checkpoint loading, the predictor. Pure PyTorch, no Qt."""

from .checkpoint import load_model
from .errors import CheckpointError
from .image_state import ImageState
from .predictor import Predictor
from .sam import MODEL_TYPES, Sam

__all__ = ["MODEL_TYPES", "CheckpointError", "ImageState", "Predictor", "Sam", "load_model"]
