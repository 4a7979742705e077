"""Errors raised by the depth engine. Each message is one sentence a user can act on, naming the file."""


class DepthError(Exception):
    """Base class: anything the depth engine refuses or cannot do."""


class ImageError(DepthError):
    """The photo or depth file cannot be read (missing, corrupt, not an image, too large...)."""


class ModelError(DepthError):
    """The model is unknown, missing, fails its hash check, or has an unexpected graph or output."""


class CancelledError(DepthError):
    """The caller asked to stop (Esc in Blender, Ctrl-C in the batch tool)."""
