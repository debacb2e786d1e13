import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.io.formats.polygons import (
    DEFAULT_TOLERANCE,
    mask_to_polygons,
    polygons_to_mask,
    single_ring,
)
from tests.io.formats.format_fixtures import SHAPES, H, W, iou


def _rasterise(polys) -> np.ndarray:
    mask = polygons_to_mask(polys.outers, H, W)
    for holes in polys.holes:
        if holes:
            mask &= ~polygons_to_mask(holes, H, W)
    return mask


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_round_trip_at_default_tolerance_keeps_iou(name):
    mask = SHAPES[name]()
    polys = mask_to_polygons(mask, DEFAULT_TOLERANCE)
    assert iou(_rasterise(polys), mask) >= 0.95
    assert iou(polygons_to_mask([single_ring(polys)], H, W), mask) >= 0.95


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_zero_tolerance_traces_pixel_edges_exactly(name):
    mask = SHAPES[name]()
    polys = mask_to_polygons(mask, 0)
    assert np.array_equal(_rasterise(polys), mask)
    assert np.array_equal(polygons_to_mask([single_ring(polys)], H, W), mask)


def test_ring_has_a_hole_and_others_do_not():
    assert mask_to_polygons(SHAPES["ring"]()).has_holes
    assert not any(
        mask_to_polygons(SHAPES[n]()).has_holes for n in ("disk", "rectangle", "l_shape")
    )


def test_rectangle_polygon_lies_on_pixel_edges():
    polys = mask_to_polygons(SHAPES["rectangle"]())
    (outer,) = polys.outers
    xs, ys = outer[:, 0], outer[:, 1]
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == pytest.approx((20, 80, 10, 35))


def test_slivers_and_lone_pixels_survive():
    mask = np.zeros((H, W), bool)
    mask[5, 5] = True
    mask[20, 10:30] = True
    mask[30:50, 60] = True
    polys = mask_to_polygons(mask)
    assert len(polys.outers) == 3
    assert np.array_equal(_rasterise(polys), mask)


def test_empty_mask_has_no_polygons_and_no_ring():
    polys = mask_to_polygons(np.zeros((H, W), bool))
    assert polys.outers == []
    with pytest.raises(ValueError, match="empty"):
        single_ring(polys)


def test_negative_tolerance_is_refused():
    with pytest.raises(ValueError, match="tolerance"):
        mask_to_polygons(SHAPES["disk"](), -1)


boxes = st.tuples(
    st.integers(0, W - 3), st.integers(0, H - 3), st.integers(2, 30), st.integers(2, 30)
)


@settings(max_examples=60, deadline=None)  # 1-px-wide steps are not exact
@given(st.lists(boxes, min_size=1, max_size=4))
def test_unions_of_boxes_2px_or_wider_round_trip_exactly_at_zero_tolerance(rects):
    mask = np.zeros((H, W), bool)
    for x, y, w, h in rects:
        mask[y : y + h, x : x + w] = True
    polys = mask_to_polygons(mask, 0)
    assert np.array_equal(_rasterise(polys), mask)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_centre_frame_round_trips_through_fill_poly(name):
    import cv2

    mask = SHAPES[name]()
    ring_xy = single_ring(mask_to_polygons(mask, 0, frame="centers"))
    filled = np.zeros((H, W), np.uint8)
    cv2.fillPoly(filled, [np.round(ring_xy).astype(np.int32)], 1)
    assert iou(filled.astype(bool), mask) >= 0.99


def test_unknown_frame_is_refused():
    with pytest.raises(ValueError, match="frame must be"):
        mask_to_polygons(SHAPES["disk"](), frame="corners")
