"""Re-estimate depth: run a (different) model on the active photo object's photo, keep its live inputs."""

from bpy.types import Operator

from ..photo_object import is_photo_object, photo_source, replace_depth
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
        layout.prop(self, "background_layer")

    def invoke(self, context, _event):
        return self.execute(context)

    def execute(self, context):
        obj = context.active_object
        # By name: in the UI the object is looked up again when the depth is ready, after other edits.
        self._object_name = obj.name
        photo_path, pixels = photo_source(obj)
        return self.run_depth(context, self.depth_request(context, photo_path, photo_pixels=pixels))

    def use_depth(self, context, depth):
        obj = context.scene.objects.get(self._object_name)
        if obj is None or not is_photo_object(obj):
            self.report({'ERROR'}, f'The photo object "{self._object_name}" was removed during depth estimation.')
            return {'CANCELLED'}
        self.report_depth_warning(depth)
        replace_depth(obj, depth)
        return {'FINISHED'}
