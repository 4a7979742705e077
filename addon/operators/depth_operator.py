"""Mix-in for operators that need a depth map: synchronous from scripts, a worker thread in the UI."""

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from ..depth import CancelledError, DepthError
from ..depth.jobs import DepthJob, DepthRequest, reuse_depth
from ..preferences import get_preferences, model_enum_items, model_search_dirs

# How often the modal timer polls the worker; short enough for a smooth progress display.
POLL_SECONDS = 0.1

# The last depth map computed, so that redo ("Adjust Last Operation") with the same depth source reuses it
# instead of running the network again in the main thread.
_last_depth = None  # (DepthRequest, DepthResult)


class DepthOperatorMixin:
    """Model choice plus the machinery that gets a depth map, then calls `self.use_depth(context, depth)`.

    Invoked from the UI, the request runs in a `DepthJob` while a modal timer shows progress in the status
    bar and Esc cancels. Otherwise (scripts, `blender -b`, the bpy module, redo) it runs synchronously and
    errors are reported, which bpy.ops turns into a RuntimeError carrying the message.
    """

    model: EnumProperty(
        name="Model",
        description="Depth model to run (default: the one chosen in the add-on preferences)",
        items=model_enum_items,
    )
    model_filepath: StringProperty(
        name="Custom Model",
        description="A depth model file (.onnx) to run instead of the chosen model",
        subtype='FILE_PATH',
    )
    refine_edges: BoolProperty(
        name="Refine Edges",
        description="Upsample a depth map coarser than the photo (every model's, a small depth file) so that "
        "its depth edges follow the photo's edges, leaving no in-between depths along silhouettes",
        default=True,
    )
    background_layer: BoolProperty(
        name="Background Layer",
        description="Also fill what a moving camera reveals: a layer behind the depth edges and the scene beyond "
        "the photo's frame, so camera moves show filled scene instead of holes",
        default=True,
    )

    _job = None
    _timer = None

    def draw_model(self, layout):
        layout.prop(self, "model")
        layout.prop(self, "model_filepath")

    def show_preferred_model(self, context):
        """In the UI, start from the preferred model unless the last run's choice was remembered."""
        preferred = get_preferences(context).default_model
        if preferred and not self.properties.is_property_set("model"):
            self.model = preferred

    def depth_request(self, context, photo_path, **fields) -> DepthRequest:
        """What to ask the depth engine for: the model set on the operator, else the preferred one."""
        prefs = get_preferences(context)
        if self.properties.is_property_set("model"):
            model = self.model
        else:
            model = prefs.default_model or None
        return DepthRequest(
            photo_path=photo_path,
            model=model,
            model_path=bpy.path.abspath(self.model_filepath) if self.model_filepath else "",
            device=prefs.device,
            search_dirs=model_search_dirs(prefs),
            refine_edges=self.refine_edges,
            background_layer=self.background_layer,
            **fields,
        )

    def run_depth(self, context, request):
        global _last_depth
        if self.options.is_repeat and _last_depth is not None:
            depth = reuse_depth(*_last_depth, request)
            if depth is not None:
                if depth.background is not None:
                    _last_depth = (request, depth)  # keep the layer built, for switching it on again
                return self.use_depth(context, depth)

        interactive = self.options.is_invoke and not self.options.is_repeat
        if not interactive or bpy.app.background or context.window is None:
            try:
                depth = request.run()
            except DepthError as error:
                self.report({'ERROR'}, str(error))
                return {'CANCELLED'}
            _last_depth = (request, depth)
            return self.use_depth(context, depth)

        self._job = DepthJob(request).start()
        window_manager = context.window_manager
        self._timer = window_manager.event_timer_add(POLL_SECONDS, window=context.window)
        window_manager.modal_handler_add(self)
        self._show_progress(context)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        global _last_depth
        if event.type == 'ESC' and event.value == 'PRESS':
            self._job.cancel()  # the worker stops at its next check; a later tick sees it done
            self._show_progress(context)
            return {'RUNNING_MODAL'}
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}  # the rest of the UI keeps working meanwhile
        if not self._job.done:
            self._show_progress(context)
            return {'PASS_THROUGH'}

        self._stop(context)
        try:
            depth = self._job.result()
        except CancelledError:
            self.report({'INFO'}, "Depth estimation cancelled.")
            return {'CANCELLED'}
        except DepthError as error:
            self.report({'ERROR'}, str(error))
            return {'CANCELLED'}
        _last_depth = (self._job.request, depth)
        return self.use_depth(context, depth)

    def cancel(self, context):
        """Blender ends the modal on its own (file loaded, window closed): stop the worker, clean up."""
        if self._job is not None:
            self._job.cancel()
        self._stop(context)

    def report_depth_warning(self, depth):
        """The engine's one-sentence warning (e.g. why CUDA fell back to the CPU) as a warning report."""
        if depth.warning:
            self.report({'WARNING'}, depth.warning)

    def _show_progress(self, context):
        # In the status bar, not with window_manager.progress_update(), which turns the mouse cursor into
        # a counter while the artist keeps working.
        if self._job.cancelled:
            text = "Monocular Photo: cancelling after the current step"
        else:
            text = f"Monocular Photo: {self._job.text} ({round(100 * self._job.fraction)}%), Esc to cancel"
        if context.workspace is not None:
            context.workspace.status_text_set(text)

    def _stop(self, context):
        window_manager = context.window_manager
        if self._timer is not None:
            window_manager.event_timer_remove(self._timer)
            self._timer = None
        if context.workspace is not None:
            context.workspace.status_text_set(None)
