"""SequencePredictor's behaviour apart from parity: input checks, objects coming and going,
bounded caches, freed memory handed back, spilled memories read back unchanged."""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np
import pytest
import torch

from annotator.engine import SequencePredictor
from annotator.engine.modeling.sam2 import SAM2_CONFIGS, build_sam2
from annotator.engine.sequence.feature_cache import FeatureCache
from annotator.engine.sequence.heap import TRIM_EVERY
from annotator.io.frames import open_frames
from tests.engine.oracles import perturb_


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = perturb_(build_sam2(SAM2_CONFIGS["sam2.1_hiera_t"]), seed=2)
    m.set_image_size(128)
    return m


def _frames(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (40, 72, 3), dtype=np.uint8)
    return np.stack([np.roll(base, i, axis=1)[:, :60] for i in range(n)])


def test_inputs_are_checked_with_clear_errors(model):
    pred = SequencePredictor(model)
    with pytest.raises(RuntimeError, match="init_state"):
        pred.add_points_or_box(0, 1, [[1, 1]], [1])
    with pytest.raises(TypeError, match="open_frames"):
        pred.init_state("clip.mp4")
    with pytest.raises(ValueError, match="uint8"):
        pred.init_state(np.zeros((2, 8, 8, 3), np.float32))
    pred.init_state(_frames(3))
    with pytest.raises(RuntimeError, match="no object has a prompt"):
        next(pred.propagate())
    with pytest.raises(IndexError, match=r"out of range for 3 frames"):
        pred.add_points_or_box(3, 1, [[1, 1]], [1])
    with pytest.raises(ValueError, match="together"):
        pred.add_points_or_box(0, 1, points=[[1, 1]])
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        pred.add_points_or_box(0, 1, [1, 2, 3], [1])
    with pytest.raises(ValueError, match="4 numbers"):
        pred.add_points_or_box(0, 1, box=[1, 2, 3])
    with pytest.raises(ValueError, match="does not match frame size"):
        pred.add_mask(0, 1, np.ones((8, 8), bool))
    with pytest.raises(TypeError, match=r"SAM 2\.1"):
        SequencePredictor(torch.nn.Linear(1, 1))


def test_objects_results_remove_and_reset(model):
    pred = SequencePredictor(model)
    pred.init_state(open_frames(_frames(6)))  # the io layer's array source works as well
    ids, masks = pred.add_points_or_box(0, 7, [[20, 20]], [1])
    assert ids == [7] and masks.shape == (1, 40, 60) and masks.dtype == bool
    mask = np.zeros((40, 60), bool)
    mask[5:30, 30:55] = True
    ids, masks = pred.add_mask(0, 3, mask)
    assert ids == [7, 3] and masks.shape == (2, 40, 60)
    # A mask prompt is its own output (through the low-res logits, so edges may move a pixel).
    inter, union = (masks[1] & mask).sum(), (masks[1] | mask).sum()
    assert inter / union > 0.95
    seen = [(f, ids, m.shape) for f, ids, m in pred.propagate(max_frames=3)]
    assert seen == [(f, [7, 3], (2, 40, 60)) for f in range(4)]
    assert set(pred.object_scores(2)) == {7, 3}
    assert pred.remove_object(7) == [3]
    with pytest.raises(KeyError, match="no object 7"):
        pred.remove_object(7)
    assert pred.frame_masks(2).shape == (1, 40, 60)
    pred.reset()
    assert pred.object_ids == [] and pred.frame_masks(0).shape == (0, 40, 60)


def test_feature_cache_stays_within_budget(model):
    pred = SequencePredictor(model, feature_budget_bytes=1)
    pred.init_state(_frames(5))
    pred.add_points_or_box(0, 1, [[20, 20]], [1])
    for _ in pred.propagate():
        assert len(pred.features) == 1
    cache = FeatureCache(0)
    assert cache.budget_bytes == 0
    with pytest.raises(ValueError):
        FeatureCache(-1)


def _glibc() -> bool:
    names = getattr(os, "confstr_names", {})
    return sys.platform == "linux" and "CS_GNU_LIBC_VERSION" in names


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc keeps freed heap resident")
def test_propagation_hands_freed_heap_back(model):
    """Memory freed inside glibc's heap under a live block stays resident unless handed back;
    a long propagation freed ~400 MiB so (benchmarks/sequence.py, 1,000 frames) while its own
    state stayed flat. Here 64 MiB of 64 KiB blocks, each shrunk to a live 32-byte head (as the
    frames' buffers were pinned by pointers and cache entries), are freed before propagating."""
    pred = SequencePredictor(model)
    pred.init_state(_frames(TRIM_EVERY))
    pred.add_points_or_box(0, 1, [[20, 20]], [1])
    list(pred.propagate(max_frames=1))  # first-run allocations (kernels, caches) out of the way
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.realloc.restype = ctypes.c_void_p
    libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block, n = 64 * 1024, 1024
    heads = [libc.malloc(block) for _ in range(n)]
    try:
        for p in heads:
            ctypes.memset(p, 1, block)  # resident
        assert all(libc.realloc(p, 32) == p for p in heads)  # shrunk in place: the tail freed
        before = _resident_bytes()
        list(pred.propagate())
        handed_back = before - _resident_bytes()
    finally:
        for p in heads:
            libc.free(p)
    assert handed_back > 0.75 * n * block, f"{handed_back / 2**20:.1f} MiB handed back"


@pytest.mark.slow
def test_spilled_memories_give_the_same_results(model):
    """A correction far behind the propagation front reads spilled memories back; the masks
    match those of a run where nothing was spilled (spill disabled by patching)."""

    def run(spill: bool) -> list[np.ndarray]:
        pred = SequencePredictor(model)
        if not spill:
            pred._spill.path = None  # any spill attempt would fail
            import annotator.engine.sequence.predictor as mod

            orig, mod.spill_behind = mod.spill_behind, lambda *a: None
        try:
            pred.init_state(_frames(12))
            pred.add_points_or_box(0, 1, [[20, 20]], [1])
            list(pred.propagate())
            if spill:
                assert any(o.spilled for o in pred._tracks[1].non_cond.values())
            pred.add_points_or_box(3, 1, [[40, 25]], [0], clear_old_points=False)
            return [m for _, _, m in pred.propagate(start_frame=3)]
        finally:
            if not spill:
                mod.spill_behind = orig

    for a, b in zip(run(True), run(False), strict=True):
        np.testing.assert_array_equal(a, b)
