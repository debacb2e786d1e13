"""load_model: architecture detection, official shapes, and one clear error per failure."""

from __future__ import annotations

import pytest
import torch
from segment_anything import sam_model_registry

from annotator.engine import CheckpointError, load_model
from annotator.engine.devices import resolve_dtype
from annotator.engine.errors import (
    CheckpointFormatError,
    CheckpointNotFoundError,
    ModelTypeMismatchError,
    ShapeMismatchError,
    UnknownArchitectureError,
)
from annotator.engine.modeling.sam import ModelSpec, build_model
from annotator.engine.weights.state_dict import detect_spec
from tests.engine.oracles import reference_mobile_sam


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("model_type", ["vit_b", "vit_l", "vit_h"])
def test_full_size_vit_has_official_shapes_and_is_detected(model_type):
    with torch.device("meta"):
        official = sam_model_registry[model_type]()
        ours = build_model(ModelSpec.official(model_type))
    assert _shapes(ours) == _shapes(official)
    spec = detect_spec(official.state_dict())
    assert spec == ModelSpec.official(model_type)


def test_full_size_vit_t_has_mobile_sam_shapes_and_is_detected():
    official = reference_mobile_sam()  # small; upstream code cannot be built on meta
    with torch.device("meta"):
        ours = build_model(ModelSpec.official("vit_t"))
    assert _shapes(ours) == {
        k: v for k, v in _shapes(official).items() if not k.endswith("attention_bias_idxs")
    }
    assert detect_spec(official.state_dict()).model_type == "vit_t"


def test_lite_medsam_is_detected_from_its_real_weights():
    from annotator.engine.weights.bundled import bundled_checkpoint_path
    from annotator.engine.weights.state_dict import read_state_dict

    sd = read_state_dict(bundled_checkpoint_path())
    assert detect_spec(sd) == ModelSpec.official("lite_medsam")


@pytest.fixture(scope="module")
def tiny_vit_b_sd():
    """A 2-block ViT-B state dict (block 1 global), small enough to save many times."""
    torch.manual_seed(0)
    model = build_model(ModelSpec("vit_b", 2, 768, 12, (1,)))
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_reduced_depth_vit_detects_depth_heads_and_global_blocks(tiny_vit_b_sd):
    assert detect_spec(tiny_vit_b_sd) == ModelSpec("vit_b", 2, 768, 12, (1,))


@pytest.mark.parametrize("wrapper", ["model", "state_dict", None])
def test_wrapped_state_dicts_load(tmp_path, tiny_vit_b_sd, wrapper):
    path = tmp_path / "ckpt.pth"
    obj = tiny_vit_b_sd if wrapper is None else {wrapper: tiny_vit_b_sd, "epoch": 3}
    torch.save(obj, path)
    model = load_model(path, device="cpu", dtype="float32")
    assert model.model_type == "vit_b"
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in tiny_vit_b_sd.items())


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(CheckpointNotFoundError, match=r"nope.pth"):
        load_model(path, device="cpu")


@pytest.mark.parametrize("text", ["hello, not a checkpoint", "garbage\n", "<html>404</html>"])
def test_not_a_checkpoint_names_the_file(tmp_path, text):
    # "g" is a pickle opcode: without a header check the weights-only unpickler would blame
    # "Python objects besides tensors" instead of saying this is no checkpoint at all.
    path = tmp_path / "notes.pth"
    path.write_text(text)
    with pytest.raises(CheckpointFormatError, match=r"notes.pth.*not a PyTorch checkpoint"):
        load_model(path, device="cpu")


def test_empty_file_names_the_file(tmp_path):
    path = tmp_path / "zero.pth"
    path.write_bytes(b"")
    with pytest.raises(CheckpointFormatError, match=r"zero.pth.*is empty"):
        load_model(path, device="cpu")


def test_truncated_checkpoint_names_the_file(tmp_path, tiny_vit_b_sd):
    path = tmp_path / "cut.pth"
    torch.save(tiny_vit_b_sd, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointFormatError, match=r"cut.pth.*truncated"):
        load_model(path, device="cpu")


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "cfg": object.__new__(_Opaque)}, path)
    with pytest.raises(CheckpointFormatError, match=r"evil.pth.*weights_only"):
        load_model(path, device="cpu")


class _Opaque:
    pass


def test_non_state_dict_names_the_file(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointFormatError, match=r"list.pth.*not a state dict"):
        load_model(path, device="cpu")


def test_unknown_architecture_says_what_was_expected(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3), "fc.bias": torch.zeros(10)}, path)
    with pytest.raises(UnknownArchitectureError, match=r"resnet.pth.*patch_embed\.proj"):
        load_model(path, device="cpu")


def test_unknown_vit_width_says_what_was_expected(tmp_path, tiny_vit_b_sd):
    sd = dict(tiny_vit_b_sd)
    sd["image_encoder.patch_embed.proj.weight"] = torch.zeros(512, 3, 16, 16)
    path = tmp_path / "odd.pth"
    torch.save(sd, path)
    with pytest.raises(UnknownArchitectureError, match=r"odd.pth.*768 \(vit_b\)"):
        load_model(path, device="cpu")


def test_shape_mismatch_names_the_first_keys(tmp_path, tiny_vit_b_sd):
    sd = dict(tiny_vit_b_sd)
    sd["mask_decoder.iou_prediction_head.layers.0.weight"] = torch.zeros(128, 256)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(ShapeMismatchError, match=r"bad.pth.*iou_prediction_head.layers.0.weight"):
        load_model(path, device="cpu")


def test_missing_keys_are_named(tmp_path, tiny_vit_b_sd):
    sd = {k: v for k, v in tiny_vit_b_sd.items() if not k.startswith("mask_decoder.")}
    path = tmp_path / "partial.pth"
    torch.save(sd, path)
    with pytest.raises(ShapeMismatchError, match=r"partial.pth.*missing key.*mask_decoder"):
        load_model(path, device="cpu")


def test_explicit_model_type_contradicting_weights(tmp_path, tiny_vit_b_sd):
    path = tmp_path / "b.pth"
    torch.save(tiny_vit_b_sd, path)
    with pytest.raises(ModelTypeMismatchError, match=r"b.pth.*vit_h.*vit_b"):
        load_model(path, model_type="vit_h", device="cpu")
    assert load_model(path, model_type="vit_b", device="cpu").model_type == "vit_b"
    with pytest.raises(ModelTypeMismatchError, match="lite_medsam"):
        load_model(None, model_type="vit_t", device="cpu")


def test_bad_arguments():
    with pytest.raises(ValueError, match="model_type 'vit_x'"):
        load_model(None, model_type="vit_x")
    with pytest.raises(ValueError, match="float16 is not supported on the CPU"):
        load_model(None, device="cpu", dtype="float16")
    with pytest.raises(ValueError, match="dtype 'int8'"):
        resolve_dtype("int8", torch.device("cpu"))


def test_errors_are_value_errors():
    assert issubclass(CheckpointError, ValueError)


def test_directory_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointFormatError, match="is a folder, not a checkpoint file"):
        load_model(tmp_path, device="cpu")


def test_a_known_model_name_loads_like_a_path(tmp_path, monkeypatch):
    """`--checkpoint sam_vit_b`-style names resolve through the models folder."""
    monkeypatch.setenv("ANNOTATOR_MODELS_DIR", str(tmp_path))
    model = load_model("lite_medsam", device="cpu")  # the bundled entry resolves in place
    assert model.model_type == "lite_medsam"
    with pytest.raises(CheckpointError, match="annotator models download sam_vit_b"):
        load_model("sam_vit_b", device="cpu")  # known, not downloaded: say how to get it
    with pytest.raises(CheckpointError, match="no_such_model"):
        load_model("no_such_model", device="cpu")
