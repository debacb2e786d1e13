"""`annotator amg` end to end (a tiny model or the bundled LiteMedSAM), and its options."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.cli.amg_outputs import PNG_CSV_HEADER
from annotator.io.coco_store import load_project

FAST = [
    "--points-per-side",
    "2",
    "--pred-iou-thresh",
    "0",
    "--stability-score-thresh",
    "0",
    "--device",
    "cpu",
]


def test_png_writes_reference_layout_reports_the_corrupt_image_and_resumes(
    folder, tmp_path, run, tiny_model
):
    out = tmp_path / "masks"
    code, err = run(["amg", str(folder), "--output", str(out), *FAST])
    assert code == 1
    assert "broken.jpg" in err and "failed images" in err
    for name in ("chelsea", "coffee"):
        lines = (out / name / "metadata.csv").read_text().splitlines()
        assert lines[0] == PNG_CSV_HEADER
        assert len(lines) > 1
        pngs = sorted((out / name).glob("*.png"))
        assert len(pngs) == len(lines) - 1
        row = lines[1].split(",")
        mask = cv2.imread(str(out / name / f"{row[0]}.png"), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) <= {0, 255}
        assert int((mask > 0).sum()) == int(row[1])  # area column
    assert not (out / "broken").exists()
    assert not list(out.glob(".*tmp*"))

    stamp = (out / "chelsea" / "metadata.csv").stat().st_mtime_ns
    (out / ".coffee.tmp-99999").mkdir()  # what a killed run leaves behind
    cv2.imwrite(str(folder / "later.png"), np.full((60, 80, 3), 128, np.uint8))
    code, err = run(["amg", str(folder), "--output", str(out), *FAST])
    assert "2 of 4 images already done" in err
    assert (out / "chelsea" / "metadata.csv").stat().st_mtime_ns == stamp
    assert (out / "later" / "metadata.csv").is_file()
    assert not (out / ".coffee.tmp-99999").exists()
    assert code == 1  # the corrupt file is tried again and still fails


def test_coco_output_is_a_project_the_store_opens(folder, tmp_path, run, tiny_model):
    out = tmp_path / "auto.json"
    code, _ = run(["amg", str(folder), "--output", str(out), "--format", "coco", *FAST])
    assert code == 1
    doc = load_project(out)
    assert doc.images_root.resolve() == folder.resolve()
    names = sorted(img.file_name for img in doc.images())
    assert names == ["chelsea.jpg", "coffee.jpg"]
    anns = doc.annotations()
    assert anns
    assert {"predicted_iou", "stability_score", "point_coords", "model"} <= set(anns[0].provenance)
    raw = json.loads(out.read_text())
    assert all(isinstance(a["segmentation"]["counts"], str) for a in raw["annotations"])
    assert raw["categories"][0]["color"].startswith("#")


def test_coco_interrupt_leaves_a_valid_project_and_resumes(
    folder, tmp_path, run, monkeypatch, tiny_model
):
    from annotator.engine.amg import AutomaticMaskGenerator

    (folder / "broken.jpg").unlink()
    out = tmp_path / "auto.json"
    real = AutomaticMaskGenerator.generate
    calls = []

    def interrupt_second(self, image):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, image)

    monkeypatch.setattr(AutomaticMaskGenerator, "generate", interrupt_second)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST])
    assert code == 130 and "interrupted" in err
    assert [img.file_name for img in load_project(out).images()] == ["chelsea.jpg"]

    monkeypatch.setattr(AutomaticMaskGenerator, "generate", real)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST])
    assert code == 0 and "1 of 2 images already done" in err
    assert sorted(i.file_name for i in load_project(out).images()) == ["chelsea.jpg", "coffee.jpg"]

    # Edited in the app since: a re-run must not overwrite the user's work.
    edited = out.read_text().replace('"name": "object"', '"name": "thing"')
    out.write_text(edited)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST])
    assert code == 2 and "edited" in err
    assert out.read_text() == edited


def test_sa1b_with_the_bundled_box_model_warns_and_writes_json(folder, tmp_path, run):
    out = tmp_path / "sa1b"
    code, err = run(["amg", str(folder / "coffee.jpg"), "-o", str(out), "--format", "sa1b", *FAST])
    assert code == 0
    assert "LiteMedSAM" in err and "segment --boxes" in err  # the box-model warning
    data = json.loads((out / "coffee.json").read_text())
    h, w = 400 // 3, 600 // 3
    assert data["image"] == {"file_name": "coffee.jpg", "width": w, "height": h}
    assert data["annotations"]
    for ann in data["annotations"]:
        rle = ann["segmentation"]
        assert rle["size"] == [h, w]
        decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        assert int(decoded.sum()) == ann["area"]
        assert all(isinstance(v, int) for v in ann["crop_box"])  # SA-1B writes integers


def test_missing_input_is_a_clear_error(tmp_path, run):
    code, err = run(["amg", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert code == 2 and "nope" in err


def test_output_names_mirror_sub_folders_and_avoid_collisions(tmp_path):
    from annotator.cli.amg_outputs import make_items

    paths = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "sub" / "b.jpg"]
    keys = [item.key for item in make_items(paths, tmp_path)]
    assert keys == ["a_jpg", "a_png", "sub/b"]


def test_cli_defaults_are_the_generators_defaults():
    """One home for the AMG parameters: every flag's default is the generator's keyword default,
    and every generator parameter but the model, point_grids and output_mode has a flag."""
    import inspect

    from annotator.cli import build_parser
    from annotator.engine.amg import AmgOptions, AutomaticMaskGenerator

    args = build_parser().parse_args(["amg", "in", "-o", "out"])
    signature = inspect.signature(AutomaticMaskGenerator.__init__).parameters
    keywords = {n: p.default for n, p in signature.items() if n != "self"}
    offered = set(keywords) - {"model_or_predictor", "point_grids", "output_mode"}
    assert offered == {n for n in vars(args) if n in keywords}
    for name in offered:
        assert getattr(args, name) == keywords[name], name
        assert type(getattr(args, name)) is type(keywords[name]), name
    assert AmgOptions() == AmgOptions(**{n: keywords[n] for n in offered | {"output_mode"}})


def test_generator_flags_reach_the_generator(folder, tmp_path, run, monkeypatch, tiny_model):
    from annotator.engine.amg import AutomaticMaskGenerator

    made = []
    real = AutomaticMaskGenerator.from_options.__func__

    def spy(cls, predictor, options):
        made.append(options)
        return real(cls, predictor, options)

    monkeypatch.setattr(AutomaticMaskGenerator, "from_options", classmethod(spy))
    out = tmp_path / "masks"
    code, _ = run(
        ["amg", str(folder / "coffee.jpg"), "-o", str(out), *FAST, "--crop-n-layers", "1"]
    )
    assert code == 0
    (options,) = made
    assert (options.points_per_side, options.crop_n_layers, options.pred_iou_thresh) == (2, 1, 0)
    assert options.box_nms_thresh == 0.7 and options.output_mode == "binary_mask"


def test_help_lists_each_generator_option_with_its_default(capsys):
    from annotator.cli import main

    with pytest.raises(SystemExit):
        main(["amg", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--points-per-side POINTS_PER_SIDE grid points along one side of the image " in out
    assert "(default 32)" in out and "(default 0.341333)" in out
    # Where the families' reference generators differ, both defaults are named.
    assert "(default 0.88 for SAM, 0.8 for SAM 2.1)" in out
    assert "--use-m2m, --no-use-m2m" in out and "--mask-threshold MASK_THRESHOLD" in out
    assert "--multimask-output, --no-multimask-output" in out


@pytest.mark.slow
def test_sam2_checkpoint_gets_sam2_defaults_and_options(sample, tmp_path, run, monkeypatch):
    """A SAM 2.1 file (random Hiera-T weights under the official name) runs end to end, with
    SAM2AutomaticMaskGenerator's defaults and the SAM 2 flags reaching the generator."""
    import torch

    from annotator.engine.amg import AutomaticMaskGenerator
    from annotator.engine.modeling.sam2 import SAM2_CONFIGS, build_sam2

    torch.manual_seed(0)
    checkpoint = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": build_sam2(SAM2_CONFIGS["sam2.1_hiera_t"]).state_dict()}, checkpoint)
    image = cv2.imread(str(sample / "chelsea.jpg"))
    cv2.imwrite(str(tmp_path / "chelsea.jpg"), cv2.resize(image, (150, 100)))
    made = []
    real = AutomaticMaskGenerator.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(AutomaticMaskGenerator, "__init__", spy)
    out = tmp_path / "sa1b"
    argv = ["amg", str(tmp_path / "chelsea.jpg"), "-o", str(out), "--format", "sa1b"]
    argv += ["--checkpoint", str(checkpoint), "--points-per-side", "2", "--device", "cpu"]
    code, err = run([*argv, "--use-m2m", "--no-multimask-output", "--mask-threshold", "0.5"])
    assert code == 0, err
    (generator,) = made
    assert generator.family == "sam2" and generator.pred_iou_thresh == 0.8
    assert generator.use_m2m and not generator.multimask_output
    assert generator.mask_threshold == 0.5
    assert (out / "chelsea.json").is_file()
