"""Add > Mesh > Monocular Photo: a photo in, a depth-displaced photo object (and its camera) out."""

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ImportHelper

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
    focal_length: FloatProperty(
        name="Focal Length",
        description="Focal length of the camera that took the photo; default: the photo's EXIF "
        "35 mm-equivalent focal length, else 35 mm",
        default=PhotoObjectSettings.focal_length,
        min=1.0,
        soft_max=500.0,
        unit='CAMERA',
        # Not remembered between runs: a remembered value would count as set and hide the next photo's EXIF.
        options={'SKIP_SAVE'},
    )
    sensor_width: FloatProperty(
        name="Sensor Width",
        description="Width of the camera's sensor along the photo's longer side "
        "(36 mm: full frame, the frame of 35 mm-equivalent focal lengths)",
        default=PhotoObjectSettings.sensor_width,
        min=1.0,
        soft_max=100.0,
        unit='CAMERA',
    )
    near: FloatProperty(
        name="Near",
        description="Distance of the nearest point of the photo (relative depth maps only)",
        default=PhotoObjectSettings.near,
        min=0.001,
        unit='LENGTH',
    )
    far: FloatProperty(
        name="Far",
        description="Distance of the farthest point of the photo (relative depth maps only)",
        default=PhotoObjectSettings.far,
        min=0.001,
        unit='LENGTH',
    )
    resolution: IntProperty(
        name="Resolution",
        description="Vertices along the photo's longer side",
        default=PhotoObjectSettings.resolution,
        min=2,
        soft_max=2048,
    )
    depth_scale: FloatProperty(
        name="Depth Scale",
        description="Stretch distances along the camera rays away from Near (1: as estimated); "
        "the camera's view does not change",
        default=PhotoObjectSettings.depth_scale,
        min=0.0,
        soft_max=10.0,
    )
    tear_threshold: FloatProperty(
        name="Tear Threshold",
        description="Remove faces whose depth jumps more than this fraction, so foreground edges do "
        "not smear into the background when the camera moves (0: never tear)",
        default=PhotoObjectSettings.tear_threshold,
        min=0.0,
        soft_max=1.0,
        subtype='FACTOR',
    )
    relief: BoolProperty(
        name="Relief",
        description="Displace a flat plane instead of placing points on their camera rays (a bas-relief look)",
        default=PhotoObjectSettings.relief,
    )
    add_camera: BoolProperty(
        name="Add Camera",
        description="Add a camera that reproduces the photo",
        default=PhotoObjectSettings.add_camera,
    )
    lit: BoolProperty(
        name="Lit",
        description="Let scene lights shade the photo (off: show the photo as taken, it is already lit)",
        default=PhotoObjectSettings.lit,
    )
    pack_photo: BoolProperty(
        name="Pack Photo",
        description="Store the photo inside the .blend file instead of referring to it",
        default=PhotoObjectSettings.pack_photo,
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
            col = body.column(align=True)
            col.active = not (self.depth_filepath and self.depth_kind == 'DEPTH')
            col.prop(self, "near")
            col.prop(self, "far")

        header, body = layout.panel("monocular_photo_mesh", default_closed=False)
        header.label(text="Mesh")
        if body:
            body.prop(self, "resolution")
            body.prop(self, "depth_scale")
            body.prop(self, "tear_threshold")
            body.prop(self, "relief")

        header, body = layout.panel("monocular_photo_camera", default_closed=True)
        header.label(text="Camera")
        if body:
            body.prop(self, "add_camera")
            body.prop(self, "focal_length")
            body.prop(self, "sensor_width")

        header, body = layout.panel("monocular_photo_material", default_closed=True)
        header.label(text="Material")
        if body:
            body.prop(self, "lit")
            body.prop(self, "pack_photo")

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
            focal_length=self.focal_length,
            sensor_width=self.sensor_width,
            near=self.near,
            far=self.far,
            resolution=self.resolution,
            depth_scale=self.depth_scale,
            tear_threshold=self.tear_threshold,
            relief=self.relief,
            lit=self.lit,
            pack_photo=self.pack_photo,
            add_camera=self.add_camera,
        )
        try:
            create_photo_object(context, bpy.path.abspath(self.filepath), depth, settings)
        except RuntimeError as error:  # e.g. Blender cannot load a photo that Pillow could read
            self.report({'ERROR'}, str(error).removeprefix("Error: ").strip())
            return {'CANCELLED'}
        return {'FINISHED'}
