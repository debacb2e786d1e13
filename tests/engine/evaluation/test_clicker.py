"""The clicker on synthetic shapes: click positions and labels exactly as the protocol says."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.engine.evaluation import Click, first_click, interior_point, next_click


def disk(shape, center, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def brute_force_farthest(mask: np.ndarray) -> tuple[int, int]:
    """First row-major pixel of ``mask`` whose Euclidean distance to the nearest pixel outside
    it (the image border counts: one pixel of padding) is largest. Independent of OpenCV."""
    padded = np.pad(mask, 1)
    outside = np.argwhere(~padded).astype(np.float64)
    inside = np.argwhere(padded)
    best, best_d = None, -1.0
    for r, c in inside:  # row-major order
        d = np.min((outside[:, 0] - r) ** 2 + (outside[:, 1] - c) ** 2)
        if d > best_d + 1e-9:
            best, best_d = (int(r) - 1, int(c) - 1), d
    assert best is not None
    return best


def test_first_click_on_a_disk_is_its_centre():
    gt = disk((64, 80), (30, 40), 10)
    click = first_click(gt)
    assert click == Click(30, 40, True)
    assert click.xy == (40.5, 30.5) and click.label == 1


def test_first_click_on_a_ring_is_the_first_pixel_midway_between_its_circles():
    gt = disk((100, 100), (50, 50), 20) & ~disk((100, 100), (50, 50), 10)
    click = first_click(gt)
    assert (click.row, click.col) == brute_force_farthest(gt)
    assert gt[click.row, click.col] and click.positive
    assert abs(np.hypot(click.row - 50, click.col - 50) - 15) <= 1.0
    assert click.row < 50  # the first maximum in scan order lies on the upper half


def test_the_image_border_counts_as_boundary():
    gt = np.zeros((40, 60), bool)
    gt[:10, :30] = True  # touches the top and left borders
    assert (first_click(gt).row, first_click(gt).col) == brute_force_farthest(gt)
    assert first_click(gt).row in (4, 5)


def test_two_part_object_first_click_in_the_thicker_part_then_positive_in_the_other():
    gt = disk((60, 100), (30, 30), 12) | disk((60, 100), (30, 80), 5)
    assert first_click(gt) == Click(30, 30, True)
    pred = disk((60, 100), (30, 30), 12)
    assert next_click(gt, pred) == Click(30, 80, True)


def test_false_positive_region_gets_a_negative_click_at_its_centre():
    gt = disk((100, 100), (40, 40), 15)
    pred = gt.copy()
    pred[70:79, 10:19] = True  # 9x9 blob outside the object
    assert next_click(gt, pred) == Click(74, 14, False)


def test_the_largest_error_region_wins_by_area():
    gt = np.zeros((100, 100), bool)
    gt[10:40, 10:40] = True
    pred = gt.copy()
    pred[10:15, 10:15] = False  # FN 25 px (corner of the object)
    pred[60:69, 60:69] = True  # FP 81 px
    assert next_click(gt, pred) == Click(64, 64, False)
    pred[60:69, 60:69] = False
    pred[60:63, 60:63] = True  # FP 9 px: now the FN region is larger
    fn = next_click(gt, pred)
    assert fn is not None and fn.positive
    assert (fn.row, fn.col) == brute_force_farthest(gt & ~pred)


def test_equal_fn_and_fp_areas_give_the_fn_region():
    gt = np.zeros((50, 50), bool)
    gt[5:20, 5:20] = True
    pred = gt.copy()
    pred[5:10, 5:10] = False  # FN 25 px
    pred[30:35, 30:35] = True  # FP 25 px
    assert next_click(gt, pred) == Click(7, 7, True)


def test_of_two_error_regions_of_one_kind_the_larger_is_clicked():
    gt = np.zeros((60, 60), bool)
    pred = np.zeros((60, 60), bool)
    pred[5:10, 5:10] = True  # FP 25 px
    pred[30:41, 30:41] = True  # FP 121 px
    assert next_click(gt, pred) == Click(35, 35, False)


def test_exact_prediction_has_no_next_click_and_empty_gt_has_no_first():
    gt = disk((30, 30), (15, 15), 6)
    assert next_click(gt, gt.copy()) is None
    assert interior_point(np.zeros((5, 5), bool)) is None
    with pytest.raises(ValueError, match="empty"):
        first_click(np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="shape"):
        next_click(gt, gt[:10])
