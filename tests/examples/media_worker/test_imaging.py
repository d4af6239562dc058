"""The Pillow steps on their own: sizes, orientation, metadata, and refused content."""

from __future__ import annotations

import io
import pickle
import warnings

import pytest
from PIL import Image

from examples.media_worker.imaging import (
    ImageOptions,
    InvalidImage,
    make_compressed,
    make_thumbnail,
    process_image,
    read_metadata,
)
from examples.media_worker.messages import FailureCode
from tests.examples.media_worker._images import (
    BLUE,
    RED,
    decoded,
    jpeg,
    png_header,
    sideways_jpeg,
    transparent_png,
)


def near(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_a_large_jpeg_gets_a_thumbnail_within_the_box_and_a_full_size_copy() -> None:
    data = jpeg((2400, 1800))
    result = process_image(data, ImageOptions(thumbnail_size=320))
    thumbnail = decoded(result.thumbnail)
    compressed = decoded(result.compressed)
    assert thumbnail.size == (320, 240)
    assert compressed.size == (2400, 1800)
    assert Image.open(io.BytesIO(result.thumbnail)).format == "JPEG"
    assert Image.open(io.BytesIO(result.compressed)).format == "JPEG"
    assert result.metadata.format == "JPEG"
    assert (result.metadata.width, result.metadata.height) == (2400, 1800)
    assert result.metadata.size_bytes == len(data)


def test_the_exif_orientation_is_applied_to_every_output() -> None:
    data = sideways_jpeg((300, 400))
    assert decoded(data).size == (400, 300)  # stored sideways
    result = process_image(data, ImageOptions(thumbnail_size=200))
    thumbnail = decoded(result.thumbnail)
    compressed = decoded(result.compressed)
    assert thumbnail.size == (150, 200)
    assert compressed.size == (300, 400)
    for picture in (thumbnail, compressed):
        width, height = picture.size
        assert near(picture.getpixel((width // 2, height // 8)), RED)
        assert near(picture.getpixel((width // 2, height * 7 // 8)), BLUE)


def test_metadata_reports_the_displayed_size_and_a_summary_of_the_exif() -> None:
    metadata = read_metadata(sideways_jpeg((300, 400)))
    assert (metadata.width, metadata.height) == (300, 400)
    assert metadata.mode == "RGB"
    assert metadata.exif.orientation == 6
    assert metadata.exif.make == "Acme"
    assert metadata.exif.model == "Phone 3"
    assert metadata.exif.taken_at == "2024:05:01 12:34:56"


def test_outputs_carry_no_exif_so_no_location_leaves_the_worker() -> None:
    result = process_image(sideways_jpeg())
    for output in (result.thumbnail, result.compressed):
        assert dict(Image.open(io.BytesIO(output)).getexif()) == {}


def test_a_transparent_png_is_laid_on_white() -> None:
    result = process_image(transparent_png((64, 48)))
    assert result.metadata.format == "PNG"
    assert result.metadata.mode == "RGBA"
    assert near(decoded(result.compressed).getpixel((10, 10)), (255, 255, 255), tolerance=3)


def test_the_thumbnail_step_alone_matches_the_one_in_the_whole_job() -> None:
    data = sideways_jpeg()
    options = ImageOptions(thumbnail_size=128)
    result = process_image(data, options)
    assert make_thumbnail(data, options) == result.thumbnail
    assert make_compressed(data, options) == result.compressed


def test_text_is_not_an_image() -> None:
    with pytest.raises(InvalidImage) as caught:
        process_image(b"GIF89a? no, just some text that is not an image at all")
    assert caught.value.code is FailureCode.NOT_AN_IMAGE
    assert "not an image" in caught.value.reason


def test_a_format_outside_the_list_is_not_an_image() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PPM")
    with pytest.raises(InvalidImage) as caught:
        process_image(buffer.getvalue())
    assert caught.value.code is FailureCode.NOT_AN_IMAGE


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_jpeg_is_truncated(keep: float) -> None:
    data = jpeg((800, 600))
    with pytest.raises(InvalidImage) as caught:
        process_image(data[: int(len(data) * keep)])
    assert caught.value.code is FailureCode.TRUNCATED
    assert caught.value.reason == "the image data ends early (an incomplete upload?)"


def test_an_image_over_max_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidImage) as caught:
        process_image(jpeg((400, 300)), ImageOptions(max_pixels=100_000))
    assert caught.value.code is FailureCode.OVERSIZED
    assert "400x300" in caught.value.reason


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((10_000, 10_000), id="over-pillow-limit-warning"),
        pytest.param((20_000, 20_000), id="over-twice-pillow-limit-error"),
    ],
)
def test_a_decompression_bomb_is_oversized_with_pillows_limit_in_force(
    size: tuple[int, int],
) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    # max_pixels above Pillow's limit: Pillow's own check has to catch it.
    with pytest.raises(InvalidImage) as caught:
        process_image(png_header(*size), ImageOptions(max_pixels=10**9))
    assert caught.value.code is FailureCode.OVERSIZED
    assert limit == Image.MAX_IMAGE_PIXELS


def test_over_pillows_limit_is_oversized_where_its_warning_is_only_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(InvalidImage) as caught:
            process_image(png_header(10_000, 10_000), ImageOptions(max_pixels=10**9))
    assert caught.value.code is FailureCode.OVERSIZED
    assert "10000x10000" in caught.value.reason


def test_an_invalid_image_error_survives_pickling_for_a_process_pool() -> None:
    error = InvalidImage(FailureCode.CORRUPT, "the image data is damaged")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.code, copy.reason, str(copy)) == (error.code, error.reason, str(error))
