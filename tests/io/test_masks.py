import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from annotator.io.masks import (
    compress_rle,
    decode_mask,
    encode_mask,
    mask_area,
    mask_bbox,
    mask_iou,
    merge_masks,
    rle_from_polygons,
    rle_pixel_count,
)


def _ring(h=40, w=50):
    """A square with a hole: the shape polygons cannot represent and RLE must keep."""
    mask = np.zeros((h, w), bool)
    mask[5:30, 10:40] = True
    mask[12:20, 18:30] = False
    return mask


def test_encode_is_json_ready_and_roundtrips():
    mask = _ring()
    rle = encode_mask(mask)
    assert rle["size"] == [40, 50]
    assert isinstance(rle["counts"], str)
    json.dumps(rle)
    np.testing.assert_array_equal(decode_mask(rle), mask)
    assert decode_mask(rle).dtype == bool
    # bytes counts (pycocotools' own output) are accepted too
    as_bytes = {"size": rle["size"], "counts": rle["counts"].encode()}
    np.testing.assert_array_equal(decode_mask(as_bytes), mask)


def test_area_and_bbox():
    mask = _ring()
    rle = encode_mask(mask)
    assert mask_area(rle) == int(mask.sum()) == 25 * 30 - 8 * 12
    assert mask_bbox(rle) == [10.0, 5.0, 30.0, 25.0]
    empty = encode_mask(np.zeros((4, 5), bool))
    assert mask_area(empty) == 0
    assert mask_bbox(empty) == [0.0, 0.0, 0.0, 0.0]


def test_nonbool_and_noncontiguous_input():
    mask = _ring().astype(np.uint8) * 7
    np.testing.assert_array_equal(decode_mask(encode_mask(mask)), mask != 0)
    view = _ring()[::2, ::3]
    np.testing.assert_array_equal(decode_mask(encode_mask(view)), view)


@pytest.mark.parametrize("shape", [(3, 4, 5), (0, 4), (7,)])
def test_encode_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="mask"):
        encode_mask(np.zeros(shape, bool))


def test_merge_union_and_intersection():
    a = np.zeros((10, 10), bool)
    a[:, :6] = True
    b = np.zeros((10, 10), bool)
    b[:, 4:] = True
    union = merge_masks([encode_mask(a), encode_mask(b)])
    np.testing.assert_array_equal(decode_mask(union), a | b)
    inter = merge_masks([encode_mask(a), encode_mask(b)], intersect=True)
    np.testing.assert_array_equal(decode_mask(inter), a & b)
    assert isinstance(union["counts"], str)
    assert mask_iou(encode_mask(a), encode_mask(b)) == pytest.approx(20 / 100)
    with pytest.raises(ValueError, match="different sizes"):
        merge_masks([encode_mask(a), encode_mask(np.zeros((5, 10), bool))])
    with pytest.raises(ValueError, match="at least one"):
        merge_masks([])


def test_compress_uncompressed_rle():
    mask = _ring(6, 7)
    flat = mask.ravel(order="F").astype(int)
    runs, current, count = [], 0, 0
    for value in flat:
        if value == current:
            count += 1
        else:
            runs.append(count)
            current, count = value, 1
    runs.append(count)
    rle = compress_rle({"size": [6, 7], "counts": runs})
    np.testing.assert_array_equal(decode_mask(rle), mask)
    with pytest.raises(ValueError, match="add up to"):
        compress_rle({"size": [6, 7], "counts": [*runs, 3]})
    with pytest.raises(ValueError, match="non-negative"):
        compress_rle({"size": [6, 7], "counts": [-1, 43]})


def test_polygons_rasterise_like_coco():
    rle = rle_from_polygons([[10, 10, 30, 10, 30, 20, 10, 20]], 40, 50)
    mask = decode_mask(rle)
    assert mask[15, 20] and not mask[5, 5]
    x, y, w, h = mask_bbox(rle)
    assert (x, y) == (10, 10) and 20 <= w <= 21 and 10 <= h <= 11
    two = rle_from_polygons([[0, 0, 5, 0, 5, 5, 0, 5], [20, 20, 25, 20, 25, 25, 20, 25]], 40, 50)
    assert decode_mask(two)[2, 2] and decode_mask(two)[22, 22]


def test_degenerate_polygons():
    with pytest.raises(ValueError, match="polygon 1"):
        rle_from_polygons([[0, 0, 5, 0, 5, 5], [1, 2, 3, 4]], 10, 10)  # 4 numbers is not a box
    with pytest.raises(ValueError, match="polygon 0"):
        rle_from_polygons([[0, 0, 5, 0, 5]], 10, 10)
    kept = rle_from_polygons([[0, 0, 5, 0, 5, 5], [1, 2, 3, 4]], 10, 10, skip_degenerate=True)
    assert mask_area(kept) > 0
    empty = rle_from_polygons([[1, 2, 3, 4]], 10, 10, skip_degenerate=True)
    assert mask_area(empty) == 0 and empty["size"] == [10, 10]


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_roundtrip_property(mask):
    rle = encode_mask(mask)
    np.testing.assert_array_equal(decode_mask(rle), mask)
    assert mask_area(rle) == int(mask.sum())
    if mask.any():
        ys, xs = np.nonzero(mask)
        assert mask_bbox(rle) == [
            xs.min(),
            ys.min(),
            xs.max() - xs.min() + 1,
            ys.max() - ys.min() + 1,
        ]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39), st.integers(1, 30)), max_size=6),
)
def test_rle_pixel_count_matches_the_size_of_any_encoded_mask(h, w, boxes):
    mask = np.zeros((h, w), bool)
    for y, x, s in boxes:
        mask[y : y + s, x : x + s] = True
    rle = encode_mask(mask)
    assert rle_pixel_count(rle["counts"]) == h * w
    assert np.array_equal(decode_mask(rle), mask)


@pytest.mark.parametrize("counts", ["02", "0", "2", "a", "1\x7f", "3`"])
def test_a_short_or_corrupt_rle_string_is_refused_not_decoded_into_garbage(counts):
    # pycocotools itself decodes "02" on a 2x2 mask into uninitialised memory.
    with pytest.raises(ValueError, match="corrupt compressed RLE"):
        decode_mask({"size": [2, 2], "counts": counts})


def test_rle_pixel_counts_over_many_chunks_matches_one_string_at_a_time(monkeypatch):
    from annotator.io import masks

    monkeypatch.setattr(masks, "RLE_CHECK_CHUNK", 64)  # many passes, cut at string boundaries
    rng = np.random.default_rng(0)
    strings = []
    for i in range(60):
        mask = rng.random((20, 30)) < 0.3
        counts = encode_mask(mask)["counts"]
        strings.append(counts[: len(counts) // 2] if i % 7 == 3 else counts)  # some truncated
    strings += ["", "0", "a"]
    expected = [rle_pixel_count(c) for c in strings]
    assert masks.rle_pixel_counts(strings).tolist() == expected
    assert expected.count(600) > 40 and -1 in expected
