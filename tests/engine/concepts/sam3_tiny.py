"""A SAM 3 small enough for 2 CPU cores: transformers' architecture at toy width, random
weights, and a CLIP BPE tokenizer built here from a few words (CLIP's real vocabulary ships
with the gated hub checkpoint only, and tests never reach the network).

The vocabulary is CLIP's layout in miniature: the 256 byte symbols, the same with the
end-of-word marker ``</w>``, one merge chain per word below, then the two special tokens.
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ("car", "person", "dog", "cat", "visual", "red", "helmet", "with", "the", "a")
IMAGE_SIZE = 112  # 8 x 8 patches of 14 pixels
HIDDEN = 32


def tiny_tokenizer():
    """A transformers ``CLIPTokenizer`` over a vocabulary of a few hundred entries."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    for symbol in symbols + [s + "</w>" for s in symbols]:
        vocab[symbol] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pair = (parts[0], parts[1])
            if pair not in merges:
                merges.append(pair)
            vocab.setdefault(pair[0] + pair[1], len(vocab))
            parts = [pair[0] + pair[1], *parts[2:]]
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges)


def tiny_config(vocab_size: int, initializer_range: float = 0.02):
    """A ``Sam3Config`` with every part of the real one, each at toy size."""
    from transformers import Sam3Config

    small = {"hidden_size": HIDDEN, "num_attention_heads": 2, "intermediate_size": 64}
    return Sam3Config(
        vision_config={
            "backbone_config": {
                "model_type": "sam3_vit_model",
                **small,
                "num_hidden_layers": 2,
                "image_size": IMAGE_SIZE,
                "patch_size": 14,
                "window_size": 4,
                "global_attn_indexes": [1],
                "pretrain_image_size": 56,
            },
            "fpn_hidden_size": HIDDEN,
            "backbone_feature_sizes": [[32, 32], [16, 16], [8, 8]],
        },
        text_config={
            "model_type": "clip_text_model",
            **small,
            "vocab_size": vocab_size,
            "projection_dim": HIDDEN,
            "num_hidden_layers": 1,
            "max_position_embeddings": 32,
            "bos_token_id": vocab_size - 2,
            "eos_token_id": vocab_size - 1,
            "pad_token_id": vocab_size - 1,
        },
        geometry_encoder_config={**small, "num_layers": 1},
        detr_encoder_config={**small, "num_layers": 1},
        detr_decoder_config={**small, "num_layers": 2, "num_queries": 20},
        mask_decoder_config={"hidden_size": HIDDEN, "num_attention_heads": 2},
        initializer_range=initializer_range,
    )


def tiny_model_and_processor(seed: int = 0):
    """(Sam3Model in eval mode with random weights, its Sam3Processor)."""
    from transformers import Sam3ImageProcessor, Sam3Model, Sam3Processor

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    model = Sam3Model(tiny_config(len(tokenizer))).eval()
    _spread_scores(model)
    image_processor = Sam3ImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return model, Sam3Processor(image_processor=image_processor, tokenizer=tokenizer)


def _spread_scores(model) -> None:
    """Random init puts every query's score near 0.25 (two sigmoids of ~0); widen the scoring
    head so that scores spread over (0, 1), and make the concept "present" (presence ~0.95), so
    that the default threshold of 0.5 keeps some instances and drops others."""
    with torch.no_grad():
        for p in model.dot_product_scoring.parameters():
            p.mul_(8.0)
        model.detr_decoder.presence_head.layer3.bias.fill_(3.0)


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """Write the tiny model and processor with ``save_pretrained``, as a hub snapshot is laid
    out; return ``folder``."""
    model, processor = tiny_model_and_processor(seed)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
