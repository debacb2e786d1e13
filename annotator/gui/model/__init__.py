"""The window's handle on the model: a UI-thread client, the worker thread it drives, the
mailbox they share and the background prefetcher. The only part of gui/ that may import torch.

Import order (no cycles): requests <- mailbox <- prefetcher <- worker <- client.
"""
