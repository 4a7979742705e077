"""Photo in, depth map out: pre-processing, inference and post-processing around one cached session.

Working resolution: the depth map comes back with its longer side at min(photo's longer side, 1024) and the
photo's aspect ratio. The networks see at most 256..518 pixels, so more pixels add no detail; 1024 is what
the photo mesh tops out at (a vertex per depth pixel), and bilinear upsampling here once is cheaper than
sampling a coarse map in Geometry Nodes on every re-evaluation. A 1024x768 float32 map is 3 MB.

Edge refinement (on by default, `refine_edges`): the photo is decoded at the working resolution too, and the
network's coarse map is upsampled so that its discontinuities follow the photo's edges (`refine.py`) instead
of bilinearly; the photo at that size comes back in `DepthResult.photo`.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import images, inference, models
from .depth_files import read_depth_map
from .errors import CancelledError, ImageError, ModelError
from .refine import refine_depth
from .result import DepthResult

WORKING_MAX_SIZE = 1024


def working_size(photo_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the depth map for a photo of `photo_size`: its aspect, the longer side at most
    WORKING_MAX_SIZE."""
    return images.fit_size(photo_size, WORKING_MAX_SIZE)


def fit_pixels(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 pixels resized to (width, height) `size` unless they have it already."""
    if (pixels.shape[1], pixels.shape[0]) == size:
        return pixels
    # reducing_gap: big photos are first shrunk by an integer factor (fast box filter).
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0))


def _aspect_differs(size: tuple[int, int], photo_size: tuple[int, int]) -> bool:
    """More than a pixel's worth of difference between the two aspects at the working resolution."""
    width, height = size
    return abs(width * photo_size[1] / (height * photo_size[0]) - 1.0) > 1.0 / WORKING_MAX_SIZE


def depth_file_result(photo_path, depth_path, kind: str, refine_edges: bool = True) -> DepthResult:
    """A depth map file for the photo `photo_path`, at the photo's aspect.

    A map coarser than the working resolution is refined onto the photo's edges (with `refine_edges`); a map
    of another aspect is resampled to the photo's, which `DepthResult.warning` says.
    """
    # No model decodes the photo here, so it is decoded first, once: a photo is accepted only once all its pixels
    # decoded without error (a truncated file would give a half-grey object). Refining needs its pixels at the
    # working resolution; otherwise a check at a reduced scale is enough.
    if refine_edges:
        pixels, info = images.decode_photo(photo_path, longer_side=WORKING_MAX_SIZE)
    else:
        pixels, info = None, images.verify_photo(photo_path)
    depth, file_warning = read_depth_map(depth_path, kind=kind)
    height, width = depth.shape
    warnings = [file_warning] if file_warning else []
    if _aspect_differs((width, height), info.size):
        warnings.append(
            f"The depth map {images.quoted_name(Path(depth_path))} is {width}x{height} pixels, not "
            f"the photo's aspect ({info.size[0]}x{info.size[1]}); it was resampled to the photo's shape."
        )
    target = working_size(info.size)
    photo = None
    if pixels is not None and max(width, height) < max(target):
        photo = fit_pixels(pixels, target)
        depth = refine_depth(photo, depth, kind)
    elif _aspect_differs((width, height), info.size):
        # The file's own detail, at the photo's aspect.
        size = images.fit_size(info.size, max(width, height))
        depth = np.asarray(Image.fromarray(depth).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    return DepthResult(
        depth=np.ascontiguousarray(depth, dtype=np.float32),
        kind=kind,
        model_id="file",
        photo_size=info.size,
        focal_length_35mm=info.focal_length_35mm,
        warning=" ".join(warnings),
        refined=photo is not None,
        exif_orientation=info.exif_orientation,
        photo=photo,
    )


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready for the network: the NCHW tensor plus what post-processing needs."""

    tensor: np.ndarray  # float32 [1, 3, H, W]
    photo_size: tuple[int, int]  # (width, height) after EXIF orientation
    focal_length_35mm: float | None
    name: str  # for error messages
    exif_orientation: int = 1
    photo: np.ndarray | None = None  # HxWx3 uint8 at the working resolution, when the edges are refined


def _photo_name(source) -> str:
    return images.quoted_name(Path(source)) if _is_path(source) else "the image array"


def _is_path(source) -> bool:
    return isinstance(source, (str, os.PathLike))


def photo_array(pixels: np.ndarray) -> np.ndarray:
    """Validate an HxWx3 array source and return it as uint8."""
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        shape = getattr(pixels, "shape", None)
        raise ImageError(f"The image array must be shaped HxWx3 (or HxWx4), not {shape}.")
    pixels = pixels[:, :, :3]
    if min(pixels.shape[:2]) < images.MIN_PHOTO_SIDE:
        raise ImageError(
            f"The image array is only {pixels.shape[1]}x{pixels.shape[0]} pixels; a photo needs at "
            f"least {images.MIN_PHOTO_SIDE} pixels per side."
        )
    if pixels.dtype == np.uint8:
        return pixels
    if np.issubdtype(pixels.dtype, np.floating):  # floats are 0..1 display values
        return images.display_to_uint8(pixels)
    raise ImageError(f"The image array must be uint8 or float, not {pixels.dtype}.")


def _network_size(spec: models.ModelSpec, fixed: tuple[int, int] | None, width: int, height: int):
    """(width, height) of the network input: the graph's fixed size, else keep aspect under spec.max_size."""
    if fixed is not None:
        return fixed
    step = spec.multiple_of
    longest = max(step, spec.max_size // step * step)
    shortest = max(step, round(min(width, height) * longest / max(width, height) / step) * step)
    return (longest, shortest) if width >= height else (shortest, longest)


class DepthEstimator:
    """One model, loaded once, applied to many photos. Thread-safe: the batch tool prepares photos on worker
    threads while the network runs on others (onnxruntime sessions allow concurrent `run` calls).
    `threads` caps onnxruntime's CPU threads per run (None: one per core); `refine_edges` upsamples the
    network's map onto the photo's edges (see `refine.py`) instead of bilinearly.
    """

    def __init__(
        self,
        model: str | None = None,
        model_path=None,
        device: str = "AUTO",
        search_dirs=(),
        threads: int | None = None,
        refine_edges: bool = True,
    ):
        self.refine_edges = refine_edges
        warnings = []
        if model_path is not None:
            model_path = Path(model_path)
            if not model_path.is_file():
                raise ModelError(f'The model file "{model_path.name}" does not exist ({model_path}).')
            self.loaded = inference.load_session(model_path, device, threads)
            self.spec = models.custom_model(model_path, self.loaded.metadata)
            self.model_id = model_path.name
        else:
            spec = models.get_model(model)
            path = spec.locate(search_dirs)
            if not spec.pinned:
                warnings.append(
                    f'Model "{spec.id}" has no pinned SHA-256 in the registry, so its file was not verified.'
                )
            self.loaded = inference.load_session(path, device, threads)
            self.spec = spec
            self.model_id = spec.id
        if self.loaded.warning:
            warnings.insert(0, self.loaded.warning)
        self.warning = " ".join(warnings)
        self.provider = self.loaded.provider
        self._mean = np.array(self.spec.mean, dtype=np.float32).reshape(3, 1, 1)
        self._inv_std = (1.0 / np.array(self.spec.std, dtype=np.float32)).reshape(3, 1, 1)

    @property
    def decode_size(self) -> int:
        """JPEGs are decoded no smaller than this on either side: the network never sees more pixels."""
        fixed = self.fixed_size
        return max(fixed) if fixed else self.spec.max_size

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """The network input (width, height) when the graph or the registry fixes it, else None."""
        return self.loaded.fixed_size or self.spec.input_size

    def prepare(self, source) -> PreparedPhoto:
        """Decode (reduced-size for JPEG), resize to the network input and normalise to NCHW float32; keep the
        photo at the working resolution when the edges are refined."""
        if _is_path(source):
            if self.refine_edges:
                pixels, info = images.decode_photo(source, longer_side=WORKING_MAX_SIZE)
            else:
                pixels, info = images.decode_photo(source, min_size=self.decode_size)
            photo_size, focal, orientation = info.size, info.focal_length_35mm, info.exif_orientation
        else:
            pixels = photo_array(source)
            photo_size, focal, orientation = (pixels.shape[1], pixels.shape[0]), None, 1
        photo = fit_pixels(pixels, working_size(photo_size)) if self.refine_edges else None
        size = _network_size(self.spec, self.fixed_size, photo_size[0], photo_size[1])
        pixels = fit_pixels(pixels if photo is None else photo, size)
        chw = pixels.transpose(2, 0, 1).astype(np.float32)
        chw *= 1.0 / 255.0
        chw -= self._mean
        chw *= self._inv_std
        return PreparedPhoto(chw[None], photo_size, focal, _photo_name(source), orientation, photo)

    def infer(self, prepared: PreparedPhoto) -> np.ndarray:
        """The network's raw output for one prepared photo, HxW float32."""
        return inference.run(self.loaded, prepared.tensor, self.model_id)

    def finish(self, prepared: PreparedPhoto, raw: np.ndarray) -> DepthResult:
        """Clean, normalise and upsample the raw output to the working resolution at the photo's aspect."""
        finite = np.isfinite(raw)
        if not finite.any():
            raise ModelError(
                f'"{self.model_id}" returned no finite depth values (all NaN or infinite) for '
                f"{prepared.name}; the model is broken or does not suit this photo."
            )
        low, high = float(raw[finite].min()), float(raw[finite].max())
        if high - low <= 1e-6 * max(1.0, abs(high)):
            raise ModelError(
                f'"{self.model_id}" returned the same depth everywhere for {prepared.name}; '
                "the model is broken or does not suit this photo."
            )
        # Non-finite pixels become the farthest finite value: a hole reads as background, not as a spike.
        far = low if self.spec.output_kind == "INVERSE" else high
        depth = np.where(finite, raw, np.float32(far)).astype(np.float32)
        if self.spec.output_kind == "INVERSE":
            depth = (depth - low) * np.float32(1.0 / (high - low))
        size = working_size(prepared.photo_size)
        if prepared.photo is not None:
            depth = refine_depth(prepared.photo, depth, self.spec.output_kind)
        elif (depth.shape[1], depth.shape[0]) != size:
            depth = np.asarray(Image.fromarray(depth).resize(size, Image.Resampling.BILINEAR))
        if self.spec.output_kind == "INVERSE":
            depth = np.clip(depth, 0.0, 1.0)
        return DepthResult(
            depth=np.ascontiguousarray(depth, dtype=np.float32),
            kind=self.spec.output_kind,
            model_id=self.model_id,
            photo_size=prepared.photo_size,
            focal_length_35mm=prepared.focal_length_35mm,
            provider=self.provider,
            warning=self.warning,
            exif_orientation=prepared.exif_orientation,
            refined=prepared.photo is not None,
            photo=prepared.photo,
        )

    def estimate(self, source, progress=None, cancel=None) -> DepthResult:
        def step(fraction: float, text: str) -> None:
            if cancel is not None and cancel():
                raise CancelledError(f"Depth estimation for {_photo_name(source)} was cancelled.")
            if progress is not None:
                progress(fraction, text)

        step(0.05, "Reading photo")
        prepared = self.prepare(source)
        step(0.25, f"Estimating depth ({self.provider.removesuffix('ExecutionProvider')})")
        raw = self.infer(prepared)
        step(0.9, "Finishing depth map")
        result = self.finish(prepared, raw)
        if progress is not None:
            progress(1.0, "Done")  # no cancel check: the work is done, handing it back costs nothing
        return result


def estimate_depth(
    source, *, model=None, model_path=None, device="AUTO", search_dirs=(), progress=None, cancel=None, refine_edges=True
) -> DepthResult:
    """Relative inverse depth (0..1, near = 1) of a photo file or HxWx3 uint8/float array.

    `model` is a registry id (default `models.DEFAULT_MODEL_ID`), `model_path` a custom .onnx file instead;
    `device` is "AUTO" (CUDA, DirectML or CoreML when usable, else CPU), "CPU" or "CUDA" (falls back to the
    CPU with the reason in `DepthResult.warning`); `search_dirs` are extra folders holding registry model
    files; `progress(fraction, text)` is called between stages and `cancel()` returning True raises
    CancelledError at the next stage; `refine_edges` (default on) puts the map's discontinuities on the
    photo's edges (`DepthResult.refined`, `DepthResult.photo`). Raises ImageError / ModelError with one
    sentence naming the file.
    """
    try:
        estimator = DepthEstimator(model, model_path, device, search_dirs, refine_edges=refine_edges)
        return estimator.estimate(source, progress, cancel)
    except MemoryError as exc:
        name = _photo_name(source)
        raise ImageError(f"{name[0].upper()}{name[1:]} needs more memory than is available to process.") from exc
