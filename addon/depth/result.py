"""The value the depth engine hands to its callers (the Blender operator, the batch tool)."""

from dataclasses import dataclass

import numpy as np

from .background import BackgroundLayer


@dataclass(frozen=True)
class DepthResult:
    """A depth map at the photo's aspect ratio.

    `depth` is float32, shape (height, width), row 0 at the top of the photo. For `kind == "INVERSE"` it is
    relative inverse depth normalised to 0..1 with near = 1 (what MiDaS-style models give); for
    `kind == "DEPTH"` it is distance along the camera's view axis in scene units (from a metric depth file).
    """

    depth: np.ndarray
    kind: str  # "INVERSE" or "DEPTH"
    model_id: str  # registry id, the custom model's file name, or "file" for a depth map read from disk
    photo_size: tuple[int, int]  # (width, height) of the photo after EXIF orientation
    focal_length_35mm: float | None  # EXIF FocalLengthIn35mmFilm, when the photo has it
    provider: str = ""  # onnxruntime execution provider that ran the model, "" when no model ran
    warning: str = ""  # one sentence, e.g. why CUDA was asked for but the CPU ran the model
    # The photo file's EXIF orientation (1: as stored), so that whoever shows the photo need not read it again.
    exif_orientation: int = 1
    refined: bool = False  # the map was upsampled onto the photo's edges (refine.py), not bilinearly
    # The photo, HxWx3 uint8 at the depth map's resolution, when it was decoded at that size (refinement)
    photo: np.ndarray | None = None
    # The background layer behind the depth edges and beyond the frame, when the request asked for it.
    background: BackgroundLayer | None = None
