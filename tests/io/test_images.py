from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from annotator.io import images
from annotator.io.images import (
    ImageReadError,
    image_size,
    list_images,
    natural_sorted,
    read_image,
)

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _marked_rgb(h: int = 20, w: int = 40) -> np.ndarray:
    """Red block in the top-left corner, so orientation and channel order are both visible."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:5, :10] = (255, 0, 0)
    return rgb


def _save_with_orientation(path: Path, rgb: np.ndarray, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(path, exif=exif.tobytes(), quality=95)


def test_reads_sample_jpeg_as_rgb_uint8():
    image = read_image(SAMPLE / "chelsea.jpg")
    assert image.shape == (300, 451, 3)
    assert image.dtype == np.uint8
    assert image_size(SAMPLE / "chelsea.jpg") == (451, 300)
    # The cat photo is warm: red dominates blue on average, which a BGR mix-up would invert.
    assert image[..., 0].mean() > image[..., 2].mean()


def test_channel_order_is_rgb(tmp_path):
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), cv2.cvtColor(_marked_rgb(), cv2.COLOR_RGB2BGR))
    image = read_image(path)
    assert tuple(image[0, 0]) == (255, 0, 0)
    assert tuple(image[-1, -1]) == (0, 0, 0)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
@pytest.mark.parametrize(
    ("orientation", "corner"),
    # Where the red top-left block of the stored pixels ends up once shown upright.
    [(1, "tl"), (3, "br"), (6, "tr"), (8, "bl"), (2, "tr"), (5, "tl")],
)
def test_exif_orientation_applied(tmp_path, suffix, orientation, corner):
    path = tmp_path / f"rot{orientation}{suffix}"
    _save_with_orientation(path, _marked_rgb(), orientation)
    image = read_image(path)
    swapped = orientation in (5, 6, 7, 8)
    assert image.shape[:2] == ((40, 20) if swapped else (20, 40))
    assert image_size(path) == (image.shape[1], image.shape[0])
    h, w = image.shape[:2]
    probes = {"tl": (1, 1), "tr": (1, w - 2), "bl": (h - 2, 1), "br": (h - 2, w - 2)}
    y, x = probes[corner]
    assert image[y, x, 0] > 200 and image[y, x, 2] < 60, (corner, image[..., 0])
    for other, (oy, ox) in probes.items():
        if other != corner:
            assert image[oy, ox, 0] < 60


def test_image_size_matches_read_for_tiff(tmp_path):
    path = tmp_path / "a.tif"
    Image.fromarray(_marked_rgb()).save(path)
    image = read_image(path)
    assert image_size(path) == (image.shape[1], image.shape[0]) == (40, 20)


def test_grayscale_becomes_rgb(tmp_path):
    path = tmp_path / "gray.png"
    gray = np.arange(200, dtype=np.uint8).reshape(10, 20)
    cv2.imwrite(str(path), gray)
    image = read_image(path)
    assert image.shape == (10, 20, 3)
    np.testing.assert_array_equal(image[..., 0], gray)
    np.testing.assert_array_equal(image[..., 2], gray)


def test_rgba_alpha_dropped(tmp_path):
    path = tmp_path / "rgba.png"
    rgba = np.zeros((6, 7, 4), np.uint8)
    rgba[..., 0] = 10
    rgba[..., 1] = 20
    rgba[..., 2] = 30
    rgba[..., 3] = 0  # fully transparent: colour values must still come through
    Image.fromarray(rgba, "RGBA").save(path)
    image = read_image(path)
    assert image.shape == (6, 7, 3)
    assert tuple(image[3, 3]) == (10, 20, 30)


def test_16bit_scaled_to_8bit(tmp_path):
    path = tmp_path / "deep.png"
    deep = np.linspace(1000, 4000, 60).astype(np.uint16).reshape(6, 10)  # 12-bit-style data
    cv2.imwrite(str(path), deep)
    image = read_image(path)
    assert image.dtype == np.uint8
    assert image[0, 0, 0] == 0 and image[-1, -1, 0] == 255
    assert np.all(np.diff(image[..., 0].ravel().astype(int)) >= 0)  # order preserved


def test_16bit_colour(tmp_path):
    path = tmp_path / "deep_rgb.png"
    deep = np.zeros((4, 4, 3), np.uint16)
    deep[..., 2] = 60000  # BGR on disk: red channel
    cv2.imwrite(str(path), deep)
    image = read_image(path)
    assert tuple(image[0, 0]) == (255, 0, 0)


def test_palette_and_one_bit(tmp_path):
    pal = Image.fromarray(np.eye(8, dtype=np.uint8) * 3, "P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    pal.save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    assert tuple(image[0, 0]) == (0, 0, 255) and tuple(image[0, 1]) == (0, 0, 0)
    Image.fromarray(np.eye(8, dtype=bool)).save(tmp_path / "bit.png")
    image = read_image(tmp_path / "bit.png")
    assert image.shape == (8, 8, 3) and image[0, 0, 0] == 255 and image[0, 1, 0] == 0


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "фото 写真"
    folder.mkdir()
    path = folder / "ünïcødé.jpg"
    path.write_bytes((SAMPLE / "coffee.jpg").read_bytes())
    assert read_image(path).shape == (400, 600, 3)
    assert image_size(path) == (600, 400)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"hello, I am a text file\n", "not a supported image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not a supported image"),
    ],
)
def test_bad_files_raise_named_error(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(path)
    assert "bad.png" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_jpeg_and_png(tmp_path):
    data = (SAMPLE / "coffee.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"half.jpg.*(corrupt|truncated)"):
        read_image(tmp_path / "half.jpg")
    ok, png = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    assert ok
    (tmp_path / "half.png").write_bytes(png.tobytes()[: png.size // 2])
    with pytest.raises(ImageReadError, match=r"half.png"):
        read_image(tmp_path / "half.png")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope.jpg: file not found"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match=r"not found"):
        image_size(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match=r"directory"):
        read_image(tmp_path)


def test_huge_image_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.zeros((10, 300), np.uint8))
    monkeypatch.setattr(images, "MAX_SIDE", 200)
    decoded = []
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a: decoded.append(1))
    with pytest.raises(ImageReadError, match=r"wide.png.*too large.*300x10"):
        read_image(path)
    with pytest.raises(ImageReadError, match=r"too large"):
        image_size(path)
    assert decoded == []


def test_huge_image_guard_by_pixel_count(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(images, "MAX_PIXELS", 9_999)
    with pytest.raises(ImageReadError, match=r"too large"):
        read_image(path)


def test_works_without_pillow(tmp_path, monkeypatch):
    path = tmp_path / "rot6.jpg"
    _save_with_orientation(path, _marked_rgb(), 6)
    monkeypatch.setattr(images, "_PILImage", None)
    assert read_image(path).shape == (40, 20, 3)
    assert image_size(path) == (20, 40)
    (tmp_path / "junk.jpg").write_bytes(b"junk")
    with pytest.raises(ImageReadError, match=r"junk.jpg"):
        read_image(tmp_path / "junk.jpg")


def test_list_images_natural_order_and_filters(tmp_path):
    for name in ["img10.jpg", "img2.PNG", "img1.jpeg", "notes.txt", ".hidden.jpg", "._img3.jpg"]:
        (tmp_path / name).write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.tif").write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()  # a directory named like an image is not an image
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["img1.jpeg", "img2.PNG", "img10.jpg"]
    rec = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert rec == ["img1.jpeg", "img2.PNG", "img10.jpg", "sub/deep.tif"]
    with pytest.raises(NotADirectoryError):
        list_images(tmp_path / "img1.jpeg")


def test_natural_sorted():
    paths = [Path(p) for p in ["b/x10", "a/x9", "a/X10", "a/x1"]]
    assert [p.as_posix() for p in natural_sorted(paths)] == ["a/x1", "a/x9", "a/X10", "b/x10"]
