"""Monocular Photo's depth engine: photo in, float depth map out. Never imports bpy.

The single entry point is `estimate_depth`; the batch tool and the Blender operator both call it.
"""

from .errors import CancelledError, DepthError, ImageError, ModelError
from .result import DepthResult

__all__ = ["CancelledError", "DepthError", "DepthResult", "ImageError", "ModelError"]
