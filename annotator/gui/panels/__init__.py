"""Dock panels: mask list, categories, image list."""

from annotator.gui.panels.categories import CategoriesPanel
from annotator.gui.panels.image_list import ImageListPanel, ImageStatus
from annotator.gui.panels.mask_list import MaskListPanel

__all__ = ["CategoriesPanel", "ImageListPanel", "ImageStatus", "MaskListPanel"]
