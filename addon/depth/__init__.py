"""Monocular Photo's depth engine: photo in, float depth map out. Never imports bpy.

The single entry point is `estimate_depth`; the batch tool and the Blender operator both call it.
onnxruntime is imported only when a model first runs.
"""

from . import models
from .depth_files import load_depth_file, write_depth_file
from .engine import DepthEstimator, estimate_depth
from .errors import CancelledError, DepthError, ImageError, ModelError
from .images import PhotoInfo, load_photo, read_photo_info
from .inference import inference_run_count
from .models import DEFAULT_MODEL_ID, ModelSpec, list_models
from .result import DepthResult

__all__ = [
    "DEFAULT_MODEL_ID",
    "CancelledError",
    "DepthError",
    "DepthEstimator",
    "DepthResult",
    "ImageError",
    "ModelError",
    "ModelSpec",
    "PhotoInfo",
    "estimate_depth",
    "inference_run_count",
    "list_models",
    "load_depth_file",
    "load_photo",
    "models",
    "read_photo_info",
    "write_depth_file",
]
