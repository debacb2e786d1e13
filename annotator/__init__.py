"""annotator: segment objects with Segment Anything models and build training datasets."""

__version__ = "0.1.0"
