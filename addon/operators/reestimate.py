"""Re-estimate depth: run a (different) model on the active photo object's photo, keep its live inputs."""

import os

import bpy
from bpy.types import Operator

from ..photo_object import image_pixels, is_photo_object, photo_image, replace_depth
from .depth_operator import DepthOperatorMixin


class OBJECT_OT_monocular_photo_reestimate(DepthOperatorMixin, Operator):
    """Estimate the active photo object's depth again, with another model"""

    bl_idname = "object.monocular_photo_reestimate"
    bl_label = "Re-estimate Depth"
    bl_options = {'REGISTER', 'UNDO'}

    _object_name = ""

    @classmethod
    def poll(cls, context):
        return is_photo_object(context.active_object)

    def draw(self, _context):
        layout = self.layout
        layout.use_property_split = True
        self.draw_model(layout)
        layout.prop(self, "refine_edges")

    def invoke(self, context, _event):
        return self.execute(context)

    def execute(self, context):
        obj = context.active_object
        # By name: in the UI the object is looked up again when the depth is ready, after other edits.
        self._object_name = obj.name
        image = photo_image(obj)
        if image is None or not image.filepath:
            photo_path = bpy.path.abspath(obj.monocular_photo.photo_path)
        else:  # the image's path follows the artist's relinking (File > External Data > Find Missing Files)
            photo_path = bpy.path.abspath(image.filepath, library=image.library)
        pixels = None
        if not os.path.isfile(photo_path) and image is not None and image.packed_file is not None:
            pixels = image_pixels(image)[..., :3]  # the file moved, but the .blend still holds the photo
        return self.run_depth(context, self.depth_request(context, photo_path, photo_pixels=pixels))

    def use_depth(self, context, depth):
        obj = context.scene.objects.get(self._object_name)
        if obj is None or not is_photo_object(obj):
            self.report({'ERROR'}, f'The photo object "{self._object_name}" was removed during depth estimation.')
            return {'CANCELLED'}
        self.report_depth_warning(depth)
        replace_depth(obj, depth)
        return {'FINISHED'}
