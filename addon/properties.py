"""What a photo object remembers about where it came from (stored on the object as `obj.monocular_photo`).

The live controls (depth scale, near/far, resolution, tearing...) are not here: they are the inputs of the
photo object's Geometry Nodes modifier, so that the modifier panel, the N-panel and drivers share one value.
"""

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

DEPTH_KIND_ITEMS = (
    ("INVERSE", "Relative Inverse Depth", "Disparity-like values, near is large (what MiDaS outputs)"),
    ("DEPTH", "Metric Depth", "Distance along the camera's view axis, in scene units"),
)

CAMERA_MOVE_ITEMS = (
    ('ZOOM_IN', "Zoom In", "Push toward the subject"),
    ('ZOOM_OUT', "Zoom Out", "Pull back from the subject"),
    ('DOLLY_ZOOM', "Dolly Zoom", "Push in while widening the lens, so the subject keeps its size (vertigo)"),
    ('HORIZONTAL', "Horizontal", "Sway left and right (loops)"),
    ('VERTICAL', "Vertical", "Sway up and down (loops)"),
    ('CIRCLE', "Circle", "Move on a small circle facing the scene (loops)"),
    ('ORBIT', "Orbit", "Swing along an arc around the subject and back (loops)"),
)

# The camera move's choices, shared by the Camera Move operator and the sidebar's settings.
CAMERA_MOVE_PRESET = EnumProperty(
    name="Preset", description="The kind of move", items=CAMERA_MOVE_ITEMS, default='ZOOM_IN'
)
CAMERA_MOVE_INTENSITY = FloatProperty(
    name="Intensity",
    description="Size of the move: 1 shifts the nearest point of the photo by about 4 % of the frame",
    default=1.0,
    min=0.0,
    soft_max=5.0,
)
CAMERA_MOVE_DURATION = FloatProperty(
    name="Duration", description="Length of the move in seconds", default=5.0, soft_min=0.1
)


class MonocularPhotoProperties(bpy.types.PropertyGroup):
    """Provenance of a photo object: the photo and the depth estimate it was built from."""

    photo_path: StringProperty(
        name="Photo",
        description="The photo this object was built from",
        subtype="FILE_PATH",
    )
    model_id: StringProperty(
        name="Model",
        description='Depth model that estimated the depth ("file" when the depth map was read from disk)',
    )
    depth_kind: EnumProperty(
        name="Depth Kind",
        description="What the values of the depth image mean",
        items=DEPTH_KIND_ITEMS,
        default="INVERSE",
    )
    provider: StringProperty(
        name="Provider",
        description="onnxruntime execution provider that ran the model (empty when no model ran)",
    )
    refined_edges: BoolProperty(
        name="Refined Edges",
        description="The depth map was upsampled so that its depth edges follow the photo's edges",
    )
    camera: PointerProperty(
        name="Camera",
        description="The camera that reproduces the photo, which camera moves animate",
        type=bpy.types.Object,  # no poll: a PointerProperty poll crashes Blender 4.2 at exit
    )


class MonocularPhotoCameraMoveSettings(bpy.types.PropertyGroup):
    """The sidebar's Camera Move choices (stored on the scene as `scene.monocular_photo_camera_move`)."""

    preset: CAMERA_MOVE_PRESET
    intensity: CAMERA_MOVE_INTENSITY
    duration: CAMERA_MOVE_DURATION


classes = (MonocularPhotoProperties, MonocularPhotoCameraMoveSettings)


def register_object_property():
    """Attach the property groups to every object and scene; call after `MonocularPhotoProperties` is registered."""
    bpy.types.Object.monocular_photo = bpy.props.PointerProperty(type=MonocularPhotoProperties)
    bpy.types.Scene.monocular_photo_camera_move = bpy.props.PointerProperty(type=MonocularPhotoCameraMoveSettings)


def unregister_object_property():
    """Detach the property groups; call before `MonocularPhotoProperties` is unregistered."""
    del bpy.types.Scene.monocular_photo_camera_move
    del bpy.types.Object.monocular_photo
