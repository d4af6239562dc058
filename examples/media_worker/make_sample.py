"""Write ``sample.jpg``: a small photo-like JPEG stored sideways with EXIF orientation 6.

Run ``python -m examples.media_worker.make_sample`` to make it again. Displayed upright
it is 480x640 (portrait) with "svckit" at the top; its pixels are stored rotated a
quarter turn, as a phone held upright stores them, so a viewer that ignores the EXIF
orientation shows it lying on its side.
"""

from __future__ import annotations

from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFont

SAMPLE = Path(__file__).with_name("sample.jpg")
UPRIGHT_SIZE = (480, 640)
ROTATED_RIGHT = 6  # EXIF: rotate 90 degrees clockwise to display


def upright_picture() -> Image.Image:
    """The picture as it should be displayed: a sky-to-ground gradient with a caption."""
    width, height = UPRIGHT_SIZE
    sky = Image.linear_gradient("L").resize(UPRIGHT_SIZE)
    picture = Image.merge(
        "RGB", (sky.point(lambda v: 40 + v // 3), sky, Image.new("L", UPRIGHT_SIZE, 220))
    )
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, height * 3 // 4, width, height), fill=(60, 140, 60))
    draw.ellipse((width - 150, 40, width - 50, 140), fill=(250, 210, 60))
    font = ImageFont.load_default(size=64)
    draw.text((40, 40), "svckit", fill=(255, 255, 255), font=font)
    draw.polygon(
        [(width // 2, 200), (width // 2 - 60, 300), (width // 2 + 60, 300)], fill=(200, 40, 40)
    )
    return picture


def write_sample(path: Path = SAMPLE) -> Path:
    """Write the sample JPEG with its EXIF (orientation, camera, date) to ``path``."""
    stored = upright_picture().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = ROTATED_RIGHT
    exif[ExifTags.Base.Make] = "svckit"
    exif[ExifTags.Base.Model] = "sample generator"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:00:00"
    stored.save(path, "JPEG", quality=85, exif=exif)
    return path


if __name__ == "__main__":
    print(write_sample())  # noqa: T201 - a script says what it wrote
