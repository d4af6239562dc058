"""Image processing with Pillow: plain functions from bytes to bytes, no I/O, no event loop.

The worker runs `process_image` in a pool (see `examples.media_worker.pool`), because
decoding and encoding take tens to hundreds of milliseconds of CPU.

- The thumbnail is decoded in JPEG *draft* mode: libjpeg scales the image down by 1/2,
  1/4 or 1/8 while decoding, so a 12-megapixel photo is never decoded at full size for a
  320-pixel thumbnail.
- EXIF orientation is applied (`PIL.ImageOps.exif_transpose`), so a phone photo taken
  upright is upright in every output; outputs carry no EXIF (no location leaks out).
- Pillow's decompression-bomb limit stays on: `PIL.Image.MAX_IMAGE_PIXELS` is never
  changed, and an image over it (or over the worker's own, lower ``max_pixels``) is
  refused as oversized before any pixel is decoded.

Content that can never be processed raises `InvalidImage` with a `FailureCode`.
"""

from __future__ import annotations

import io
import struct
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from examples.media_worker.messages import ExifSummary, FailureCode, ImageMetadata

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "SUPPORTED_FORMATS",
    "ImageOptions",
    "InvalidImage",
    "ProcessedImage",
    "make_compressed",
    "make_thumbnail",
    "process_image",
    "read_metadata",
]

#: The formats the worker opens; everything else is "not an image". A short list keeps
#: Pillow's rarely used (and rarely hardened) decoders away from uploaded content.
#: (Multi-picture JPEGs from cameras open through "JPEG" and report "MPO".)
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

_ORIENTATION = ExifTags.Base.Orientation
_ROTATED = frozenset({5, 6, 7, 8})  # orientations that swap width and height
_TEXT_LIMIT = 100


class InvalidImage(Exception):  # noqa: N818 - named for what the content is
    """The content can never be processed; retrying will not help.

    Attributes:
        code: Why, for programs.
        reason: Why, for people; it never quotes the content.
    """

    def __init__(self, code: FailureCode, reason: str) -> None:
        """Say why the content cannot be processed."""
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type[InvalidImage], tuple[FailureCode, str]]:
        """Pickle with both arguments, so that it crosses from a process pool intact."""
        return (type(self), (self.code, self.reason))


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """How images are processed.

    Attributes:
        thumbnail_size: The thumbnail fits in a square of this many pixels.
        thumbnail_quality: JPEG quality of the thumbnail (1-95).
        compressed_quality: JPEG quality of the full-size compressed copy (1-95).
        max_pixels: Images with more pixels are refused; so are images over Pillow's
            own limit (`PIL.Image.MAX_IMAGE_PIXELS`), whatever this says.
        formats: The formats accepted.
    """

    thumbnail_size: int = 320
    thumbnail_quality: int = 80
    compressed_quality: int = 75
    max_pixels: int = 50_000_000
    formats: tuple[str, ...] = field(default=SUPPORTED_FORMATS)


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """The outputs of `process_image`.

    Attributes:
        thumbnail: The JPEG thumbnail.
        compressed: The full-size compressed JPEG copy.
        metadata: What was learnt about the original.
    """

    thumbnail: bytes
    compressed: bytes
    metadata: ImageMetadata


def process_image(data: bytes, options: ImageOptions | None = None) -> ProcessedImage:
    """Make the thumbnail, the compressed copy and the metadata of one image.

    Raises:
        InvalidImage: The content is not an image, is truncated, damaged or oversized.
    """
    options = options or ImageOptions()
    with _opened(data, options) as image:
        # Read before the draft: draft mode changes the size and mode Pillow reports.
        metadata = _metadata(image, len(data))
        thumbnail = _thumbnail(image, options)
    with _opened(data, options) as image:
        compressed = _compressed(image, options)
    return ProcessedImage(thumbnail=thumbnail, compressed=compressed, metadata=metadata)


def make_thumbnail(data: bytes, options: ImageOptions | None = None) -> bytes:
    """The JPEG thumbnail of an image, upright, within ``thumbnail_size`` pixels.

    Raises:
        InvalidImage: See `process_image`.
    """
    options = options or ImageOptions()
    with _opened(data, options) as image:
        return _thumbnail(image, options)


def make_compressed(data: bytes, options: ImageOptions | None = None) -> bytes:
    """A full-size JPEG copy of an image, upright, at ``compressed_quality``.

    Raises:
        InvalidImage: See `process_image`.
    """
    options = options or ImageOptions()
    with _opened(data, options) as image:
        return _compressed(image, options)


def read_metadata(data: bytes, options: ImageOptions | None = None) -> ImageMetadata:
    """Format, displayed size, mode and an EXIF summary, read from the header only.

    Raises:
        InvalidImage: The content is not an image or is oversized.
    """
    options = options or ImageOptions()
    with _opened(data, options) as image:
        return _metadata(image, len(data))


# ---------------------------------------------------------------------- steps


def _thumbnail(image: Image.Image, options: ImageOptions) -> bytes:
    size = (options.thumbnail_size, options.thumbnail_size)
    orientation = _orientation(image)
    # JPEG only (other formats ignore it): decode at the smallest 1/2^n scale that is
    # still at least the thumbnail's size.
    image.draft(None, size)
    upright = _upright(image, orientation)
    upright.thumbnail(size)
    return _jpeg(upright, options.thumbnail_quality)


def _compressed(image: Image.Image, options: ImageOptions) -> bytes:
    return _jpeg(_upright(image, _orientation(image)), options.compressed_quality)


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    with _decoding():
        if orientation == 1:
            image.load()
            return image
        return ImageOps.exif_transpose(image)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    icc_profile = image.info.get("icc_profile")
    out = _jpeg_mode(image)
    buffer = io.BytesIO()
    # No exif=...: the outputs carry no EXIF, so no GPS position leaves the worker.
    out.save(buffer, "JPEG", quality=quality, icc_profile=icc_profile)
    return buffer.getvalue()


def _jpeg_mode(image: Image.Image) -> Image.Image:
    if image.mode in {"RGB", "L"}:
        return image
    has_alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    # JPEG has no transparency: lay the image on white, as a browser would show it.
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _metadata(image: Image.Image, size_bytes: int) -> ImageMetadata:
    exif = _exif(image)
    orientation = exif.orientation
    width, height = image.size
    if orientation in _ROTATED:
        width, height = height, width
    return ImageMetadata(
        format=image.format or "unknown",
        width=width,
        height=height,
        mode=image.mode,
        size_bytes=size_bytes,
        exif=exif,
    )


def _exif(image: Image.Image) -> ExifSummary:
    try:
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
    except (OSError, SyntaxError, ValueError, struct.error):
        # Damaged EXIF is not a damaged image: report none.
        return ExifSummary()
    return ExifSummary(
        make=_text(exif.get(ExifTags.Base.Make)),
        model=_text(exif.get(ExifTags.Base.Model)),
        taken_at=_text(details.get(ExifTags.Base.DateTimeOriginal))
        or _text(exif.get(ExifTags.Base.DateTime)),
        software=_text(exif.get(ExifTags.Base.Software)),
        orientation=_valid_orientation(exif.get(_ORIENTATION)),
    )


def _orientation(image: Image.Image) -> int:
    try:
        return _valid_orientation(image.getexif().get(_ORIENTATION))
    except (OSError, SyntaxError, ValueError, struct.error):
        return 1


def _valid_orientation(value: object) -> int:
    return value if isinstance(value, int) and 1 <= value <= 8 else 1  # noqa: PLR2004


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned[:_TEXT_LIMIT] or None


# ---------------------------------------------------------------------- opening safely


@contextmanager
def _opened(data: bytes, options: ImageOptions) -> Iterator[Image.Image]:
    with _decoding():
        image = Image.open(io.BytesIO(data), formats=options.formats)
    with image:
        width, height = image.size
        # Never above Pillow's limit: where its warning is only a warning, this refuses.
        limit = min(options.max_pixels, Image.MAX_IMAGE_PIXELS or options.max_pixels)
        if width * height > limit:
            raise InvalidImage(
                FailureCode.OVERSIZED,
                f"the image is {width}x{height} pixels; at most {limit:,} pixels are accepted",
            )
        yield image


@contextmanager
def _decoding() -> Iterator[None]:
    """Turn Pillow's errors about the content into `InvalidImage`."""
    try:
        yield
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception where warnings are errors (as in tests);
        # elsewhere the max_pixels check, at most Pillow's limit, refuses it the same way.
        raise InvalidImage(
            FailureCode.OVERSIZED,
            "the image has more pixels than the decompression-bomb limit allows",
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(
            FailureCode.NOT_AN_IMAGE,
            f"the content is not an image in a supported format ({', '.join(SUPPORTED_FORMATS)})",
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise InvalidImage(
                FailureCode.TRUNCATED, "the image data ends early (an incomplete upload?)"
            ) from exc
        raise InvalidImage(FailureCode.CORRUPT, "the image data is damaged") from exc
