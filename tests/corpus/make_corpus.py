"""A corpus of damaged and odd input files, and what Monocular Photo must do with each.

    python -m tests.corpus.make_corpus --out DIR     (from the repository root)

writes DIR/photos, DIR/depth and DIR/models. Each table below is one row per file: its name, how it is made
and the expected outcome: `error` is a regular expression the one-sentence error must match (the message must
also name the file), `None` marks a legitimate input that must give a correct result. A new bug report is one
new row (and, when needed, a small maker function).

Photos are used with a model and with a good depth file; depth files with a good photo (`DEPTH_PHOTO`);
models with a good photo. The tests live in tests/depth/test_corpus.py (engine, batch tool) and
tests/blender/test_corpus_operators.py (add operator, Re-estimate).
"""

import argparse
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

from tests.tool_scripts import load_tool

PHOTO_SIZE = (96, 64)  # (width, height)


@dataclass(frozen=True)
class Entry:
    name: str  # file name in the corpus folder
    make: Callable[[Path], None]  # writes the file at the given path
    error: str | None  # regex the error must match; None: a legitimate input
    note: str = ""  # what it stands for (a bug report, a kind of file people have)
    kind: str = "INVERSE"  # depth files only: what the map holds
    warning: str | None = None  # legitimate inputs: regex the one-sentence warning must match (None: no warning)


def photo_pixels(width: int = PHOTO_SIZE[0], height: int = PHOTO_SIZE[1]) -> np.ndarray:
    """A photo with structure in every channel: red across, green down, a blue rectangle, a little noise."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(20, 235, width, dtype=np.uint8)[None, :]
    pixels[..., 1] = np.linspace(30, 220, height, dtype=np.uint8)[:, None]
    pixels[height // 4 : height // 2, width // 4 : width // 2, 2] = 200
    # Texture, so files have realistic amounts of compressed data to damage.
    noise = np.random.default_rng(18).integers(0, 16, (height, width, 3), dtype=np.uint8)
    return pixels + noise


def _save(mode: str | None = None, **options):
    def make(path: Path) -> None:
        image = Image.fromarray(photo_pixels())
        (image.convert(mode) if mode else image).save(path, **options)

    return make


def _large_jpeg(path: Path) -> None:
    """Big enough that the engine decodes it reduced (Pillow's draft), which must still see every byte."""
    Image.fromarray(photo_pixels(1600, 1200)).save(path, quality=90)


def _png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, type, body) of every chunk of a PNG file."""
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append((offset, data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bytes(pixels: np.ndarray | None = None) -> bytes:
    import io

    stream = io.BytesIO()
    Image.fromarray(photo_pixels() if pixels is None else pixels).save(stream, format="PNG")
    return stream.getvalue()


def _corrupt_idat(path: Path) -> None:
    """Compressed pixel data damaged in the middle, with a valid CRC: only decoding finds it."""
    data = bytearray(_png_bytes())
    offset, _kind, body = next(c for c in _png_chunks(bytes(data)) if c[1] == b"IDAT")
    damaged = bytearray(body)
    for index in range(len(body) // 2, len(body) // 2 + 40):
        damaged[index] ^= 0xA5
    data[offset : offset + 12 + len(body)] = _png_chunk(b"IDAT", bytes(damaged))
    path.write_bytes(bytes(data))


def _bad_crc(path: Path) -> None:
    """Intact pixels but a wrong IDAT checksum: Pillow reads it, Blender refuses it."""
    data = bytearray(_png_bytes())
    offset, _kind, body = next(c for c in _png_chunks(bytes(data)) if c[1] == b"IDAT")
    data[offset + 8 + len(body)] ^= 0x01
    path.write_bytes(bytes(data))


def _truncated(make: Callable[[Path], None], fraction: float):
    def truncate(path: Path) -> None:
        make(path)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return truncate


def _png_header(width: int, height: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _bomb(path: Path) -> None:
    """A header claiming 30000x30000 pixels (900 MP) over a few bytes of data."""
    path.write_bytes(_png_header(30000, 30000, zlib.compress(b"\0" * 16)))


def _lying_header(path: Path) -> None:
    """A header claiming 4000x3000 pixels over the data of a 96x64 image."""
    rows = b"".join(b"\0" + row.tobytes() for row in photo_pixels())
    path.write_bytes(_png_header(4000, 3000, zlib.compress(rows)))


def _exif_rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    Image.fromarray(photo_pixels()).save(path, quality=95, exif=exif.tobytes())


def _gray16(path: Path) -> None:
    grey = (photo_pixels()[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(grey).save(path)


def _bytes(content: bytes):
    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


PHOTOS = [
    Entry("rgb.png", _save(), None),
    Entry("photo.jpg", _save(quality=95), None),
    Entry("exif_rotated.jpg", _exif_rotated, None, "EXIF orientation 6: shown and estimated upright"),
    Entry("cmyk.jpg", _save("CMYK", quality=95), None, "what print workflows write"),
    Entry("palette_transparent.png", _save("P", transparency=0), None),
    Entry("grey_alpha.png", _save("LA"), None),
    Entry("bilevel.png", _save("1"), None, "1-bit"),
    Entry("grey16.png", _gray16, None, "16-bit greyscale: Blender holds it as linear floats"),
    Entry("rgba.png", _save("RGBA"), None),
    Entry("animation.gif", _save("P"), None, "Blender 5.x reads GIF as an empty image"),
    Entry("bad_crc.png", _bad_crc, None, "issue 18: Pillow reads it, Blender does not: packed copy"),
    Entry("corrupt_data.png", _corrupt_idat, "corrupt or truncated", "issue 18: was accepted as black pixels"),
    Entry(
        "truncated_half.jpg",
        _truncated(_save(quality=95), 0.5),
        "corrupt or truncated",
        "issue 18: was a half-grey object with a depth file",
    ),
    Entry("truncated_half_png.png", _truncated(_save(), 0.5), "corrupt or truncated"),
    Entry("truncated_large.jpg", _truncated(_large_jpeg, 0.9), "corrupt or truncated", "decoded in draft mode"),
    Entry("empty.jpg", _bytes(b""), "is empty"),
    Entry("text.png", _bytes(b"this is not a photo\n"), "not a readable image"),
    Entry("jpeg_start_only.jpg", _bytes(b"\xff\xd8\xff\xe0" + bytes(64)), "not a readable image|corrupt"),
    Entry("bomb.png", _bomb, "megapixel limit", "decompression bomb"),
    Entry("lying_header.png", _lying_header, "corrupt or truncated", "header larger than its data"),
    Entry("tiny.png", lambda path: Image.new("RGB", (4, 4)).save(path), "at least"),
]

assert len({Path(entry.name).stem for entry in PHOTOS}) == len(PHOTOS), "the batch tool names outputs by stem"

# Depth files are tried with this photo (a legitimate PNG of PHOTO_SIZE).
DEPTH_PHOTO = "rgb.png"
DEPTH_SIZE = (PHOTO_SIZE[0] // 2, PHOTO_SIZE[1] // 2)


def _ramp(low: float = 2.0, high: float = 5.0, size=DEPTH_SIZE) -> np.ndarray:
    width, height = size
    return np.tile(np.linspace(low, high, width, dtype=np.float32), (height, 1))


def _npy(array_maker):
    def write(path: Path) -> None:
        np.save(path, array_maker(), allow_pickle=True)

    return write


def _exr(array_maker):
    def write(path: Path) -> None:
        import OpenEXR

        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(header, {"Z": np.ascontiguousarray(array_maker(), dtype=np.float32)}) as exr:
            exr.write(str(path))

    return write


def _png16(array_maker):
    def write(path: Path) -> None:
        Image.fromarray(np.round(np.clip(array_maker(), 0, 1) * 65535).astype(np.uint16)).save(path)

    return write


def _with(values: np.ndarray, fraction: float, value: float) -> np.ndarray:
    """`values` with the first `fraction` of its pixels (row-major) set to `value`."""
    flat = values.copy().ravel()
    flat[: int(flat.size * fraction)] = value
    return flat.reshape(values.shape)


DEPTHS = [
    Entry("inverse.npy", _npy(lambda: _ramp(0.0, 1.0)), None),
    Entry("metric.exr", _exr(_ramp), None, kind="DEPTH"),
    Entry("inverse16.png", _png16(lambda: _ramp(0.0, 1.0)), None),
    Entry("metric_hxwx1.npy", _npy(lambda: _ramp()[:, :, None]), None, kind="DEPTH"),
    Entry(
        "metric_few_holes.npy", _npy(lambda: _with(_ramp(), 0.05, np.nan)), None, "holes filled as far", kind="DEPTH"
    ),
    Entry(
        "flat_inverse.npy",
        _npy(lambda: np.full(DEPTH_SIZE[::-1], 0.5, np.float32)),
        None,
        "a flat object, with a warning",
        warning="flat",
    ),
    Entry(
        "metric_negative.npy",
        _npy(lambda: -_ramp()),
        r"100 % of its pixels are negative",
        "issue 18: put the mesh behind the camera",
        kind="DEPTH",
    ),
    Entry(
        "metric_mostly_negative.exr",
        _exr(lambda: _with(_ramp(), 0.93, -1.0)),
        r"93 % of its pixels are negative",
        kind="DEPTH",
    ),
    Entry(
        "metric_zeros.npy",
        _npy(lambda: np.zeros(DEPTH_SIZE[::-1], np.float32)),
        r"pixels are zero",
        "issue 18: collapsed the mesh to a point",
        kind="DEPTH",
    ),
    Entry("metric_zeros.png", _png16(lambda: np.zeros(DEPTH_SIZE[::-1])), r"pixels are zero", kind="DEPTH"),
    Entry(
        "metric_mostly_inf.exr",
        _exr(lambda: _with(_ramp(), 0.8, np.inf)),
        r"80 % of its pixels are NaN or inf",
        kind="DEPTH",
    ),
    Entry("all_nan.npy", _npy(lambda: np.full(DEPTH_SIZE[::-1], np.nan, np.float32)), "no finite depth values"),
    Entry(
        "complex.npy",
        _npy(lambda: _ramp().astype(np.complex64) * (1 + 1j)),
        "complex",
        "issue 18: was truncated to its real part",
        kind="DEPTH",
    ),
    Entry("bool.npy", _npy(lambda: _ramp() > 3), "bool"),
    Entry("object.npy", _npy(lambda: np.array([{"depth": 1}], dtype=object)), "not a readable .npy"),
    Entry("rgb_planes.npy", _npy(lambda: np.stack([_ramp()] * 3, axis=2)), "not an HxW depth map"),
    Entry(
        "wrong_aspect.npy",
        _npy(lambda: _ramp(size=(DEPTH_SIZE[0], DEPTH_SIZE[0]))),
        None,
        "issue 18: built a squashed mesh; resampled to the photo's shape (issue 15)",
        kind="DEPTH",
        warning="not the photo's aspect .* resampled to the photo's shape",
    ),
    Entry("truncated.png", _truncated(_png16(lambda: _ramp(0.0, 1.0)), 0.5), "corrupt or truncated"),
    Entry("empty.exr", _bytes(b""), "is empty"),
]


def _test_model(name: str, fraction: float = 1.0):
    def write(path: Path) -> None:
        import onnx

        onnx.save(getattr(load_tool("make_test_model"), name)(), path)
        if fraction < 1.0:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * fraction)])

    return write


def _fails_at_run_time(path: Path) -> None:
    """Loads fine (dynamic input) but reshapes its output to a fixed size, which fails for any other photo."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    make_test_model = load_tool("make_test_model")
    shape = numpy_helper.from_array(np.array([1, 5, 7], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
            helper.make_node("Reshape", ["mean", "shape"], ["depth"]),
        ],
        "fails_at_run_time",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 5, 7])],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", make_test_model.OPSET)])
    model.ir_version = make_test_model.IR_VERSION
    onnx.save(model, path)


MODELS = [
    Entry("tiny_dynamic.onnx", _test_model("tiny_dynamic"), None),
    Entry("empty.onnx", _bytes(b""), "is empty", "issue 18: ended in a C++ source location"),
    Entry("random.onnx", _bytes(np.random.default_rng(18).bytes(4096)), "not an ONNX model"),
    Entry("text.onnx", _bytes(b"<html>404 Not Found</html>\n"), "not an ONNX model", "a failed download"),
    Entry("truncated.onnx", _test_model("tiny_dynamic", 0.5), "not a usable ONNX model"),
    Entry("bad_input_rank.onnx", _test_model("bad_input_shape"), "takes input of shape"),
    Entry("bad_output.onnx", _test_model("bad_output_shape"), "returns output of shape"),
    Entry("nan_output.onnx", _test_model("nan_output"), "no finite depth values"),
    Entry("constant_output.onnx", _test_model("constant_output"), "same depth everywhere"),
    Entry("fails_at_run_time.onnx", _fails_at_run_time, "failed while running"),
]

TABLES = {"photos": PHOTOS, "depth": DEPTHS, "models": MODELS}


def write_corpus(out_dir: Path) -> dict[str, Path]:
    """Write every table into its own sub-folder of `out_dir`; returns {table name: folder}."""
    folders = {}
    for table, entries in TABLES.items():
        folder = Path(out_dir) / table
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for entry in entries:
            entry.make(folder / entry.name)
        folders[table] = folder
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the corpus into")
    for table, folder in write_corpus(parser.parse_args().out).items():
        print(f"{table}: {len(TABLES[table])} files in {folder}")


if __name__ == "__main__":
    main()
