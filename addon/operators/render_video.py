"""Render Video: the active photo object's camera move as an H.264 MP4, with render settings made for it."""

from pathlib import Path

import bpy
from bpy.props import BoolProperty, StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ExportHelper

from ..camera_moves import ensure_photo_camera
from ..photo_object import is_photo_object
from ..video import configure_mp4, configure_render, finish_partial, frame_camera, partial_path, render_mp4


class OBJECT_OT_monocular_photo_render_video(ExportHelper, Operator):
    """Render the scene's frame range from the photo object's camera to an MP4 (fast settings for a photo object)"""

    bl_idname = "object.monocular_photo_render_video"
    bl_label = "Render Video"
    bl_options = {'REGISTER', 'UNDO'}  # it changes the scene's render settings

    filename_ext = ".mp4"
    filter_glob: StringProperty(default="*.mp4", options={'HIDDEN'})
    fit: BoolProperty(
        name="Letterbox",
        description="Show the whole photo with bars when the output's aspect differs (off: fill the frame)",
        default=False,
    )

    @classmethod
    def poll(cls, context):
        return is_photo_object(context.active_object) and not bpy.app.is_job_running('RENDER')

    def execute(self, context):
        obj = context.active_object
        scene = context.scene
        target = Path(bpy.path.abspath(self.filepath))
        if not target.parent.is_dir():
            self.report({'ERROR'}, f'The folder "{target.parent}" does not exist.')
            return {'CANCELLED'}
        camera = ensure_photo_camera(context, obj)
        scene.camera = camera
        # The artist's output size, made even (H.264 needs even sides).
        size = tuple(max(2, side - side % 2) for side in (scene.render.resolution_x, scene.render.resolution_y))
        configure_render(scene, size)
        frame_camera(camera, obj, size, fit=self.fit)
        if bpy.app.background:
            try:  # the artist chose the file in the browser: it may be replaced
                render_mp4(scene, target, overwrite=True)
            except (OSError, RuntimeError) as error:
                self.report({'ERROR'}, str(error))
                return {'CANCELLED'}
            self.report({'INFO'}, f'Wrote "{target}".')
            return {'FINISHED'}

        partial = partial_path(target)
        configure_mp4(scene, partial)

        def on_complete(_scene, _depsgraph=None):
            _remove_handlers()
            try:  # the operator is gone by now: errors go to the terminal
                finish_partial(partial, target, overwrite=True)
            except (OSError, RuntimeError) as error:
                print(f"Monocular Photo: {error}")

        def on_cancel(_scene, _depsgraph=None):
            _remove_handlers()
            partial.unlink(missing_ok=True)

        def _remove_handlers():
            bpy.app.handlers.render_complete.remove(on_complete)
            bpy.app.handlers.render_cancel.remove(on_cancel)

        bpy.app.handlers.render_complete.append(on_complete)
        bpy.app.handlers.render_cancel.append(on_cancel)
        bpy.ops.render.render('INVOKE_DEFAULT', animation=True)  # Blender's own non-blocking render job
        return {'FINISHED'}


classes = (OBJECT_OT_monocular_photo_render_video,)
