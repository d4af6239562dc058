"""Small real images for the media worker's tests, made with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def jpeg(size: tuple[int, int] = (400, 300), *, quality: int = 90) -> bytes:
    """A gradient JPEG of ``size``."""
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    return _save(picture, "JPEG", quality=quality)


def upright_portrait(size: tuple[int, int] = (300, 400)) -> Image.Image:
    """A portrait picture whose top half is red and bottom half blue."""
    width, height = size
    picture = Image.new("RGB", size, BLUE)
    picture.paste(RED, (0, 0, width, height // 2))
    return picture


def sideways_jpeg(size: tuple[int, int] = (300, 400)) -> bytes:
    """`upright_portrait` stored a quarter turn sideways, with EXIF orientation 6 and a camera."""
    stored = upright_portrait(size).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "Phone 3"
    exif[ExifTags.Base.GPSInfo] = {2: (48.0, 51.0, 30.0)}
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:34:56"
    return _save(stored, "JPEG", quality=95, exif=exif)


def transparent_png(size: tuple[int, int] = (64, 48)) -> bytes:
    """A fully transparent RGBA PNG."""
    return _save(Image.new("RGBA", size, (0, 0, 0, 0)), "PNG")


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but holds none (a bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def decoded(data: bytes) -> Image.Image:
    """Decode ``data`` fully (fails on anything Pillow cannot read)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def _save(picture: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, kind, **options)
    return buffer.getvalue()
