"""Uploaded floor plan images: untrusted bytes, so their type is read from the bytes, their size
from the header before a pixel is decoded, and what is served is a fresh encoding of the pixels
alone (docs/floor-plans.md, "Images"; docs/security.md).

Blocking (Pillow decodes and encodes in C for seconds on a large image): run it in a worker
thread."""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.errors import FieldProblem, InvalidInputError, UnsupportedMediaTypeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start of image, then the first marker's 0xFF.
JPEG_SOI = b"\xff\xd8\xff"
PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG"}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
# Content-Type values that leave the type to the bytes.
UNTYPED_MEDIA_TYPES = ("", "application/octet-stream")
# A JPEG is encoded anew (it has to be, to drop its metadata): at this quality the loss is not
# visible on a plan.
JPEG_QUALITY = 90
# Modes each format stores as they are; other modes are converted (CMYK JPEG to RGB, say).
KEPT_MODES = {"png": {"1", "L", "LA", "I;16", "P", "RGB", "RGBA"}, "jpeg": {"L", "RGB"}}
# What the bytes are when they are not an image we take, for the refusal.
OTHER_SIGNATURES = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive"),
)

IMAGE_FIELD = ("image",)


@dataclass(frozen=True)
class EncodedImage:
    image_type: str
    """"png" or "jpeg"."""
    data: bytes
    width: int
    height: int


def image_problem(message: str) -> InvalidInputError:
    return InvalidInputError([FieldProblem(IMAGE_FIELD, message)])


def describe_bytes(data: bytes) -> str:
    """What a body that is neither PNG nor JPEG looks like, in a few words."""
    if not data:
        return "nothing, the body is empty"
    for signature, name in OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"unknown binary data starting 0x{data[:8].hex()}"
    if text.lstrip().startswith("<"):
        return "markup (HTML, XML or SVG)"
    return "text"


def image_type_of(data: bytes) -> str:
    """ "png" or "jpeg", from the bytes' signature; 415 naming what they are otherwise."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(JPEG_SOI):
        return "jpeg"
    raise UnsupportedMediaTypeError(
        [
            FieldProblem(
                IMAGE_FIELD,
                f"not a PNG or JPEG image (the bytes say: {describe_bytes(data)})",
            )
        ]
    )


def check_declared_type(declared: str | None, image_type: str) -> None:
    """A Content-Type that names another type than the bytes' is refused (415), saying both:
    the client meant to send something else."""
    media_type = (declared or "").split(";")[0].strip().lower()
    if media_type in UNTYPED_MEDIA_TYPES or media_type == MEDIA_TYPES[image_type]:
        return
    if media_type in MEDIA_TYPES.values():
        message = f"the bytes are a {image_type.upper()} image but Content-Type says {media_type}"
    else:
        message = (
            f"Content-Type must be image/png, image/jpeg or application/octet-stream, "
            f"not {media_type}"
        )
    raise UnsupportedMediaTypeError([FieldProblem(IMAGE_FIELD, message)])


def reencode(data: bytes, *, max_pixels: int) -> EncodedImage:
    """The image's pixels, upright (its EXIF orientation applied, as viewers show it), encoded
    anew in its own format without any metadata (EXIF, text chunks, comments, colour profile),
    never resized. 415 when the bytes are neither PNG nor JPEG, 422 when the image is larger
    than `max_pixels` (read from its header, before decoding) or cannot be decoded."""
    image_type = image_type_of(data)
    try:
        with Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[image_type]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise image_problem(
                    f"is {width} × {height} = {width * height} pixels, more than "
                    f"FLOOR_PLAN_MAX_PIXELS ({max_pixels})"
                )
            image.load()
            return _encode(image, image_type)
    except InvalidInputError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own guard, for a header far past ours (twice Image.MAX_IMAGE_PIXELS).
        raise image_problem(
            f"has more pixels than FLOOR_PLAN_MAX_PIXELS ({max_pixels}): {error}"
        ) from None
    except Exception as error:
        # Pillow reports malformed input with many exception types (OSError for a truncated
        # file, SyntaxError for a broken chunk, ValueError, struct.error...): whatever it is,
        # the bytes are at fault, not the server.
        raise image_problem(
            f"is not a readable {image_type.upper()} image ({type(error).__name__}: {error})"
        ) from None


def _encode(image: Image.Image, image_type: str) -> EncodedImage:
    # In place: a copy of a 40-megapixel image would double what an upload holds in memory.
    ImageOps.exif_transpose(image, in_place=True)
    upright = image
    transparency = upright.info.get("transparency") if upright.mode == "P" else None
    if upright.mode not in KEPT_MODES[image_type]:
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha and image_type == "png" else "RGB")
    # Pillow's encoders copy comments, colour profiles and PNG transparency from `info`
    # unless told otherwise: nothing of the upload but its pixels (and palette transparency)
    # is written.
    upright.info = {}
    options: dict[str, object] = {}
    if image_type == "jpeg":
        options["quality"] = JPEG_QUALITY
    elif transparency is not None:
        options["transparency"] = transparency
    output = io.BytesIO()
    upright.save(output, format=PILLOW_FORMATS[image_type], **options)
    return EncodedImage(
        image_type=image_type,
        data=output.getvalue(),
        width=upright.width,
        height=upright.height,
    )
