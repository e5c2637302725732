"""Images for the floor plan tests, made with Pillow: real PNG and JPEG files with metadata to
see dropped, and hand-made bytes for what Pillow would refuse to write."""

import io
import struct
import zlib

from PIL import Image
from PIL.PngImagePlugin import PngInfo

# A metadata marker that must not survive re-encoding.
SECRET = b"camera-owner: Jane Doe, GPS 51.5007N"


def pixels(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """An image whose every pixel differs from its neighbours: a resize or a shift shows."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [
            ((x * 7) % 256, (y * 13) % 256, (x * y) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    return image.convert(mode)


def png(width: int = 40, height: int = 30, *, mode: str = "RGB", text: bytes = b"") -> bytes:
    info = PngInfo()
    if text:
        info.add_text("Comment", text.decode())
    output = io.BytesIO()
    pixels(width, height, mode).save(output, format="PNG", pnginfo=info)
    return output.getvalue()


def jpeg(
    width: int = 40,
    height: int = 30,
    *,
    mode: str = "RGB",
    comment: bytes = b"",
    orientation: int | None = None,
) -> bytes:
    image = pixels(width, height, mode)
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()  # ImageDescription
    if orientation is not None:
        exif[0x0112] = orientation  # Orientation
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=95, comment=comment, exif=exif.tobytes())
    return output.getvalue()


def gif() -> bytes:
    output = io.BytesIO()
    pixels(10, 10).save(output, format="GIF")
    return output.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and header claiming `width` × `height`, with no pixel data: decoding it
    fails, so an answer about its size shows the size was checked before decoding."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def padded_png(total_bytes: int) -> bytes:
    """A valid PNG of exactly `total_bytes`, padded with a private ancillary chunk."""
    image = png(8, 8)
    end = image.rindex(b"IEND") - 4
    padding = total_bytes - len(image) - 12
    assert padding >= 0, f"a PNG takes at least {len(image) + 12} bytes here"
    return image[:end] + chunk(b"prVt", b"\0" * padding) + image[end:]


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
