"""Model layer: SAM-family networks, checkpoint loading, the predictor. Pure PyTorch, no Qt."""
