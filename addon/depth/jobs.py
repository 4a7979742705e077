"""Getting a depth map for an operator, synchronously or in a worker thread. Never imports bpy.

`DepthRequest` is what an operator asks for (the photo plus either a depth file or a model);
`DepthJob` runs a request in a worker thread so the UI keeps running: the operator's modal timer polls
it, Esc calls `cancel()`, and the Blender data is only touched back in the main thread.
"""

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .background import build_background_layer
from .engine import depth_file_result, estimate_depth, fit_pixels, photo_array
from .errors import CancelledError
from .images import load_photo, quoted_name, read_photo_info
from .result import DepthResult


@dataclass(frozen=True)
class DepthRequest:
    photo_path: str
    depth_path: str = ""  # a depth map on disk: skips the model
    depth_kind: str = "INVERSE"  # what the depth map holds, for `depth_path` only
    model: str | None = None  # registry id; None = the registry's default
    model_path: str = ""  # a user's .onnx file instead of `model`
    device: str = "AUTO"
    search_dirs: tuple[Path, ...] = ()
    refine_edges: bool = True  # put the map's discontinuities on the photo's edges (see depth/refine.py)
    # Also build the background layer (depth/background.py) behind the depth edges and beyond the frame.
    background_layer: bool = True
    # HxWx3 pixels standing in for a photo file that is gone but still packed in the .blend (re-estimating);
    # `photo_path` then only names the photo, and requests compare equal by that name.
    photo_pixels: np.ndarray | None = field(default=None, compare=False)

    def run(self, progress=None, cancel=None) -> DepthResult:
        """The depth map for the photo, with its background layer when asked for; raises `DepthError`
        (subclasses) with a one-sentence message."""
        if not self.background_layer:
            return self._depth(progress, cancel)
        # The fill takes a small share of the time next to a network: the depth reports up to 90 %.
        depth = self._depth(None if progress is None else lambda fraction, text: progress(0.9 * fraction, text), cancel)
        if cancel is not None and cancel():
            raise CancelledError(f"Depth estimation for {quoted_name(Path(self.photo_path))} was cancelled.")
        return self.with_background(depth, progress)

    def with_background(self, depth: DepthResult, progress=None) -> DepthResult:
        """`depth` (this request's) with its background layer built: a fraction of a second at the working
        resolution, so a worker thread's job in the UI."""
        if progress is not None:
            progress(0.9, "Filling background")
        background = build_background_layer(self._photo_at_depth_size(depth), depth.depth, depth.kind)
        if progress is not None:
            progress(1.0, "Done")
        return dataclasses.replace(depth, background=background)

    def _photo_at_depth_size(self, depth: DepthResult) -> np.ndarray:
        """The photo, HxWx3 uint8 at the depth map's resolution: the engine's own copy when it kept one."""
        height, width = depth.depth.shape
        if depth.photo is not None:
            photo = depth.photo
        elif self.photo_pixels is not None:
            photo = photo_array(self.photo_pixels)
        else:
            photo = load_photo(self.photo_path, max(height, width))
        return fit_pixels(photo, (width, height))

    def _depth(self, progress, cancel) -> DepthResult:
        if self.photo_pixels is None:
            if self.depth_path:
                return depth_file_result(self.photo_path, self.depth_path, self.depth_kind, self.refine_edges)
            # Reads only the header: a missing or broken photo is reported before the model is loaded.
            read_photo_info(self.photo_path)
        return estimate_depth(
            self.photo_path if self.photo_pixels is None else self.photo_pixels,
            model=None if self.model_path else self.model,
            model_path=self.model_path or None,
            device=self.device,
            search_dirs=self.search_dirs,
            progress=progress,
            cancel=cancel,
            refine_edges=self.refine_edges,
        )


def reuse_depth(cached_request: DepthRequest, cached: DepthResult, request: DepthRequest) -> DepthResult | None:
    """The depth `cached_request` gave (`cached`) as `request` asks for it, when both have the same depth source
    (redo with other options): the background layer is built or dropped as asked, the network never runs.
    None when the source differs."""
    if dataclasses.replace(cached_request, background_layer=request.background_layer) != request:
        return None
    if not request.background_layer:
        return dataclasses.replace(cached, background=None)
    return cached if cached.background is not None else request.with_background(cached)


class DepthJob:
    """One `DepthRequest` running in a daemon thread; poll `done`, then take `result()`."""

    def __init__(self, request: DepthRequest):
        self.request = request
        self.fraction = 0.0
        self.text = "Starting"
        self._cancelled = threading.Event()
        self._result = None
        self._error = None
        # Daemon: a job still running when Blender quits must not keep the process alive.
        self._thread = threading.Thread(target=self._work, name="monocular-photo-depth", daemon=True)

    def start(self) -> "DepthJob":
        self._thread.start()
        return self

    def cancel(self):
        """Ask the worker to stop at its next check; it then finishes with `CancelledError`."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> DepthResult:
        """The depth map, or the worker's exception re-raised here in the caller's thread."""
        if not self.done:
            raise RuntimeError("the depth job is still running")
        if self._error is not None:
            raise self._error
        return self._result

    def _progress(self, fraction, text):
        # Plain attribute writes are atomic under the GIL; the main thread only reads them.
        self.fraction, self.text = fraction, text

    def _work(self):
        try:
            self._result = self.request.run(progress=self._progress, cancel=self._cancelled.is_set)
        except Exception as error:  # handed to the main thread, which reports it
            self._error = error
