"""Add > Mesh > Monocular Photo: a photo in, a depth-displaced photo object (and its camera) out."""

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ImportHelper

from .. import live_inputs
from ..photo_object import PhotoObjectSettings, create_photo_object
from ..properties import DEPTH_KIND_ITEMS
from .depth_operator import DepthOperatorMixin


class MESH_OT_monocular_photo_add(DepthOperatorMixin, ImportHelper, Operator):
    """Build a 3D scene from one photo: estimate its depth, add a mesh that reproduces it and a camera"""

    bl_idname = "mesh.monocular_photo_add"
    bl_label = "Monocular Photo"
    bl_options = {'REGISTER', 'UNDO'}

    filter_image: BoolProperty(default=True, options={'HIDDEN', 'SKIP_SAVE'})
    filter_folder: BoolProperty(default=True, options={'HIDDEN', 'SKIP_SAVE'})

    depth_filepath: StringProperty(
        name="Depth Map",
        description="Use this depth map (16-bit PNG, EXR, TIFF or .npy) instead of running a model",
        subtype='FILE_PATH',
    )
    depth_kind: EnumProperty(
        name="Depth Kind",
        description="What the values of the depth map file mean",
        items=DEPTH_KIND_ITEMS,
        default='INVERSE',
    )
    # The live inputs (near, far, resolution, ...) are added from `live_inputs.LIVE_INPUTS` when the add-on
    # registers: see `add_live_input_properties()`.
    add_camera: BoolProperty(
        name="Add Camera",
        description="Add a camera that reproduces the photo",
        default=True,
    )
    lit: BoolProperty(
        name="Lit",
        description="Let scene lights shade the photo (off: show the photo as taken, it is already lit)",
        default=False,
    )
    pack_photo: BoolProperty(
        name="Pack Photo",
        description="Store the photo inside the .blend file instead of referring to it",
        default=False,
    )

    @classmethod
    def poll(cls, context):
        if context.mode != 'OBJECT':
            cls.poll_message_set("Switch to Object Mode to add a Monocular Photo.")
            return False
        return True

    def invoke(self, context, event):
        self.show_preferred_model(context)
        return super().invoke(context, event)  # ImportHelper: the file browser, options beside it

    def draw(self, _context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False

        header, body = layout.panel("monocular_photo_depth", default_closed=False)
        header.label(text="Depth")
        if body:
            self.draw_model(body)
            body.prop(self, "depth_filepath")
            row = body.row()
            row.active = bool(self.depth_filepath)
            row.prop(self, "depth_kind")
            body.prop(self, "refine_edges")
            self.draw_live_inputs(body, "Depth")

        header, body = layout.panel("monocular_photo_mesh", default_closed=False)
        header.label(text="Mesh")
        if body:
            self.draw_live_inputs(body, "Mesh")

        header, body = layout.panel("monocular_photo_background", default_closed=True)
        header.label(text="Background")
        if body:
            body.prop(self, "background_layer")
            col = body.column()
            col.active = self.background_layer
            self.draw_live_inputs(col, "Background")

        header, body = layout.panel("monocular_photo_camera", default_closed=True)
        header.label(text="Camera")
        if body:
            body.prop(self, "add_camera")
            self.draw_live_inputs(body, "Camera")

        header, body = layout.panel("monocular_photo_material", default_closed=True)
        header.label(text="Material")
        if body:
            body.prop(self, "lit")
            body.prop(self, "pack_photo")

    def draw_live_inputs(self, layout, panel):
        metric = bool(self.depth_filepath) and self.depth_kind == 'DEPTH'
        col = layout.column(align=True)
        for spec in live_inputs.LIVE_INPUTS:
            if spec.panel == panel:
                row = col.row(align=True)
                row.active = not (metric and spec.attribute in ("near", "far"))  # unused by metric depth
                row.prop(self, spec.attribute)

    def execute(self, context):
        if not self.filepath:
            self.report({'ERROR'}, "Choose a photo to build the Monocular Photo from.")
            return {'CANCELLED'}
        if self.near >= self.far:
            self.report({'ERROR'}, f"Near ({self.near:g}) must be smaller than Far ({self.far:g}).")
            return {'CANCELLED'}
        fields = {}
        if self.depth_filepath:
            fields = {"depth_path": bpy.path.abspath(self.depth_filepath), "depth_kind": self.depth_kind}
        request = self.depth_request(context, bpy.path.abspath(self.filepath), **fields)
        return self.run_depth(context, request)

    def use_depth(self, context, depth):
        self.report_depth_warning(depth)
        if not self.properties.is_property_set("focal_length") and depth.focal_length_35mm:
            # Shown in the redo panel, so the artist sees (and can correct) what the EXIF said.
            self.focal_length = depth.focal_length_35mm
        settings = PhotoObjectSettings(
            lit=self.lit,
            pack_photo=self.pack_photo,
            add_camera=self.add_camera,
            **{spec.attribute: getattr(self, spec.attribute) for spec in live_inputs.LIVE_INPUTS},
        )
        try:
            create_photo_object(context, bpy.path.abspath(self.filepath), depth, settings)
        except RuntimeError as error:  # e.g. Blender cannot load a photo that Pillow could read
            self.report({'ERROR'}, str(error).removeprefix("Error: ").strip())
            return {'CANCELLED'}
        return {'FINISHED'}


# The class's own annotations, before the live inputs are added to them.
_OWN_ANNOTATIONS = dict(MESH_OT_monocular_photo_add.__annotations__)


def add_live_input_properties():
    """Give the operator one property per live input (same name, default, limits and tooltip as the group's
    input); call before registering it. Done at registration, not import, so the table is read as it is then."""
    MESH_OT_monocular_photo_add.__annotations__ = {
        **_OWN_ANNOTATIONS,
        **{spec.attribute: live_inputs.operator_property(spec) for spec in live_inputs.LIVE_INPUTS},
    }
