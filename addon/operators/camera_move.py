"""Camera Move: key a preset move (zoom, dolly zoom, sway, circle, orbit) on the active photo object's camera."""

from bpy.props import BoolProperty, IntProperty
from bpy.types import Operator

from ..camera_moves import key_camera_move
from ..photo_object import is_photo_object
from ..properties import CAMERA_MOVE_DURATION, CAMERA_MOVE_INTENSITY, CAMERA_MOVE_PRESET


class OBJECT_OT_monocular_photo_camera_move(Operator):
    """Key a camera move on the active photo object's camera, starting at the photo's own viewpoint"""

    bl_idname = "object.monocular_photo_camera_move"
    bl_label = "Camera Move"
    bl_options = {'REGISTER', 'UNDO'}

    preset: CAMERA_MOVE_PRESET
    intensity: CAMERA_MOVE_INTENSITY
    duration: CAMERA_MOVE_DURATION
    fps: IntProperty(name="FPS", description="Frames per second", default=30, min=1, soft_max=120)
    set_frame_range: BoolProperty(
        name="Set Frame Range",
        description="Set the scene's frame range and frame rate to the move's",
        default=True,
    )

    @classmethod
    def poll(cls, context):
        return context.mode == 'OBJECT'

    def execute(self, context):
        obj = context.active_object
        if not is_photo_object(obj):
            self.report({'ERROR'}, "The active object is not a photo object: select one to key a camera move.")
            return {'CANCELLED'}
        if self.duration <= 0.0:
            self.report({'ERROR'}, f"The duration must be more than 0 seconds (got {self.duration:g}).")
            return {'CANCELLED'}
        try:
            key_camera_move(context, obj, self.preset, self.intensity, self.duration, self.fps, self.set_frame_range)
        except ValueError as error:  # e.g. a photo object with no geometry in front of its camera
            self.report({'ERROR'}, f'"{obj.name}": {error}')
            return {'CANCELLED'}
        return {'FINISHED'}


classes = (OBJECT_OT_monocular_photo_camera_move,)
