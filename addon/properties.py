"""What a photo object remembers about where it came from (stored on the object as `obj.monocular_photo`).

The live controls (depth scale, near/far, resolution, tearing...) are not here: they are the inputs of the
photo object's Geometry Nodes modifier, so that the modifier panel, the N-panel and drivers share one value.
"""

import bpy
from bpy.props import EnumProperty, PointerProperty, StringProperty

DEPTH_KIND_ITEMS = (
    ("INVERSE", "Relative Inverse Depth", "Disparity-like values, near is large (what MiDaS outputs)"),
    ("DEPTH", "Metric Depth", "Distance along the camera's view axis, in scene units"),
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
    camera: PointerProperty(
        name="Camera",
        description="The camera that reproduces the photo, which camera moves animate",
        type=bpy.types.Object,  # no poll: a PointerProperty poll crashes Blender 4.2 at exit
    )


classes = (MonocularPhotoProperties,)


def register_object_property():
    """Attach the property group to every object; call after `MonocularPhotoProperties` is registered."""
    bpy.types.Object.monocular_photo = bpy.props.PointerProperty(type=MonocularPhotoProperties)


def unregister_object_property():
    """Detach the property group; call before `MonocularPhotoProperties` is unregistered."""
    del bpy.types.Object.monocular_photo
