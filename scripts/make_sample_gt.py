"""Writes tests/data/sample_gt.json: small hand-drawn ground truth for the sample photos.

Objects are drawn once as polygons and ellipses traced by eye on sample_data/*.jpg (no model
involved), then stored as COCO: polygons for most objects, compressed RLE for the ellipses, so
both GT encodings are exercised. Run from the repository root:

    python scripts/make_sample_gt.py [--overlays DIR]   # DIR: PNGs of the masks, to check them
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parents[1]
SIZES = {
    "astronaut.jpg": (512, 512),
    "chelsea.jpg": (300, 451),
    "coffee.jpg": (400, 600),
    "rocket.jpg": (427, 640),
}
CATEGORIES = ["face", "helmet", "badge", "eye", "nose", "cup", "spoon", "rocket"]

# (file, category, ("polygon", [x, y, ...]) or ("ellipse", (cx, cy, ax, ay, angle)))
OBJECTS = [
    ("astronaut.jpg", "face", ("ellipse", (222, 122, 44, 60, 0))),
    ("astronaut.jpg", "helmet", ("ellipse", (398, 440, 120, 96, 0))),
    ("astronaut.jpg", "badge", ("ellipse", (170, 385, 37, 37, 0))),
    ("chelsea.jpg", "eye", ("ellipse", (172, 115, 34, 28, 8))),
    ("chelsea.jpg", "eye", ("ellipse", (321, 136, 22, 26, 0))),
    (
        "chelsea.jpg",
        "nose",
        ("polygon", [234, 232, 262, 226, 291, 233, 281, 249, 263, 262, 248, 250]),
    ),
    (
        "coffee.jpg",
        "cup",
        (
            "polygon",
            [
                174,
                80,
                186,
                42,
                230,
                21,
                290,
                17,
                350,
                22,
                394,
                45,
                409,
                90,
                396,
                160,
                385,
                210,
                360,
                248,
                320,
                268,
                280,
                276,
                248,
                274,
                232,
                292,
                204,
                294,
                196,
                256,
                210,
                232,
                190,
                190,
                178,
                140,
            ],
        ),
    ),
    (
        "coffee.jpg",
        "spoon",
        (
            "polygon",
            [
                406,
                68,
                420,
                72,
                392,
                232,
                402,
                262,
                404,
                296,
                388,
                318,
                362,
                326,
                338,
                316,
                326,
                290,
                330,
                260,
                350,
                240,
                376,
                232,
            ],
        ),
    ),
    (
        "rocket.jpg",
        "rocket",
        ("polygon", [322, 127, 330, 134, 334, 150, 335, 405, 309, 405, 309, 150, 313, 134]),
    ),
]


def draw(shape, h: int, w: int) -> np.ndarray:
    kind, spec = shape
    mask = np.zeros((h, w), np.uint8)
    if kind == "ellipse":
        cx, cy, ax, ay, angle = spec
        cv2.ellipse(mask, (cx, cy), (ax, ay), angle, 0, 360, 1, thickness=-1)
    else:
        return mask_utils.decode(mask_utils.frPyObjects([spec], h, w))[..., 0].astype(bool)
    return mask.astype(bool)


def build() -> dict:
    names = sorted(SIZES)
    images = [
        {"id": i + 1, "file_name": n, "height": SIZES[n][0], "width": SIZES[n][1]}
        for i, n in enumerate(names)
    ]
    cats = [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(CATEGORIES)]
    anns = []
    for i, (name, cat, shape) in enumerate(OBJECTS, start=1):
        h, w = SIZES[name]
        mask = draw(shape, h, w)
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        if shape[0] == "polygon":
            seg = [list(map(float, shape[1]))]
        else:
            seg = {"size": [h, w], "counts": rle["counts"].decode("ascii")}
        anns.append(
            {
                "id": i,
                "image_id": names.index(name) + 1,
                "category_id": CATEGORIES.index(cat) + 1,
                "segmentation": seg,
                "area": float(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
            }
        )
    return {
        "info": {"description": "hand-drawn GT for sample_data (scripts/make_sample_gt.py)"},
        "images": images,
        "categories": cats,
        "annotations": anns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlays", type=Path, help="write mask overlays here to check them")
    args = parser.parse_args()
    data = build()
    out = ROOT / "tests" / "data" / "sample_gt.json"
    out.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"{len(data['annotations'])} objects -> {out}")
    if args.overlays:
        args.overlays.mkdir(parents=True, exist_ok=True)
        for name in SIZES:
            image = cv2.imread(str(ROOT / "sample_data" / name))
            for _, _cat, shape in (o for o in OBJECTS if o[0] == name):
                mask = draw(shape, *SIZES[name])
                image[mask] = (0.5 * image[mask] + [0, 0, 127]).astype(np.uint8)
            cv2.imwrite(str(args.overlays / name.replace(".jpg", ".png")), image)


if __name__ == "__main__":
    main()
