"""Annotation store: COCO RLE projects, atomic saves, import and export. No Qt, no torch."""
