"""Dock panels: mask list, categories, image list."""

from annotator.gui.widgets.panels.categories import CategoriesPanel
from annotator.gui.widgets.panels.image_list import ImageListPanel, ImageStatus
from annotator.gui.widgets.panels.mask_list import MaskListPanel

__all__ = ["CategoriesPanel", "ImageListPanel", "ImageStatus", "MaskListPanel"]
