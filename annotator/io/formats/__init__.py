"""Import from other annotation tools and export for training pipelines."""
