"""Build the photo object: image datablocks, material, the bundled node group, the object and its camera.

Plain functions on `bpy.data` (no operators), so the add operator, "Re-estimate depth" and scripts share them.
The mesh is built by the "Monocular Photo" Geometry Nodes group in the original camera's frame: the camera
sits at the object's origin, looks down local -Z with +Y up (see CONTRACT.md).
"""

import math
import os
from pathlib import Path

import bpy
import numpy as np

from . import live_inputs, node_group
from .depth import DepthResult, load_photo
from .depth.background import blender_depth_pixels
from .depth.images import block_means, decode_photo, fit_size, srgb_to_linear
from .depth.paths import NODE_ASSET_BLEND


class PhotoObjectSettings:
    """Everything `create_photo_object` needs besides the photo and its depth: the starting values of the live
    inputs (keyword arguments named after `LiveInput.attribute`, readable as attributes, e.g. `settings.near`;
    the rest take their defaults from `live_inputs.LIVE_INPUTS`) and how to build the object."""

    def __init__(self, *, lit=False, pack_photo=False, add_camera=True, **inputs):
        unknown = inputs.keys() - live_inputs.defaults().keys()
        if unknown:
            raise TypeError(f"PhotoObjectSettings has no live input {', '.join(sorted(unknown))}")
        self.inputs = {**live_inputs.defaults(), **inputs}
        self.lit = lit  # Principled BSDF for relighting instead of showing the photo unlit
        self.pack_photo = pack_photo
        self.add_camera = add_camera

    def __getattr__(self, name):
        try:
            return self.__dict__["inputs"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        return (
            f"PhotoObjectSettings(lit={self.lit}, pack_photo={self.pack_photo}, add_camera={self.add_camera}, "
            f"inputs={self.inputs})"
        )


def create_photo_object(context, photo_path, depth: DepthResult, settings: PhotoObjectSettings) -> bpy.types.Object:
    """Build the photo object for `photo_path` at the 3D cursor and return it, active and selected.

    The object gets one Geometry Nodes modifier using the bundled "Monocular Photo" group, a packed float
    depth image and a material showing the photo. It is rotated so that its camera looks horizontally.
    With `depth.background` (a `BackgroundLayer`) it also gets the background layer's packed depth and colour
    images and a second material showing the colour image.

    With `settings.add_camera` a camera with the object's world matrix and the photo's intrinsics is added.
    It becomes the scene camera, and the render resolution is set to the photo's aspect, only when the
    scene has no camera yet; otherwise the user's camera and render settings are left alone.

    On any error, every datablock made here is removed before the exception propagates.
    """
    photo_path = Path(photo_path)
    created = []  # datablocks made so far, removed again if anything fails
    try:
        photo_image = _load_photo_image(photo_path, settings.pack_photo, depth)
        created.append(photo_image)
        depth_image = _new_depth_image(photo_path.stem + " depth", depth)
        created.append(depth_image)
        material = _new_material(photo_path.stem, photo_image, settings.lit)
        created.append(material)
        background = _new_background(photo_path.stem, depth, settings.lit, created)
        group, appended_groups = _bundled_node_group()
        created += appended_groups
        mesh = bpy.data.meshes.new(photo_path.stem)
        created.append(mesh)
        obj = bpy.data.objects.new(photo_path.stem, mesh)
        created.append(obj)

        # The camera looks down the object's -Z: rotating by 90 degrees about X makes it look along +Y.
        obj.location = context.scene.cursor.location
        obj.rotation_euler = (math.pi / 2.0, 0.0, 0.0)

        modifier = obj.modifiers.new(node_group.GROUP_NAME, "NODES")
        modifier.node_group = group
        set_modifier_inputs(
            modifier,
            {
                node_group.DEPTH_IMAGE: depth_image,
                node_group.METRIC_DEPTH: depth.kind == "DEPTH",
                node_group.MATERIAL: material,
                **background,
                **{spec.name: settings.inputs[spec.attribute] for spec in live_inputs.LIVE_INPUTS},
            },
        )

        # The group's Material inputs set the faces' materials; the slots show them in the Material tab too,
        # where artists look for them to edit.
        mesh.materials.append(material)
        if background:
            mesh.materials.append(background[node_group.BACKGROUND_MATERIAL])

        _record_provenance(obj, depth)
        obj.monocular_photo.photo_path = str(photo_path)

        collection = context.collection
        collection.objects.link(obj)
        if settings.add_camera:
            camera = _new_camera(context, obj, settings, depth.photo_size, created)
            collection.objects.link(camera)
            obj.monocular_photo.camera = camera

        for selected in context.selected_objects:
            selected.select_set(False)
        obj.select_set(True)
        context.view_layer.objects.active = obj
        return obj
    except BaseException:
        _remove_datablocks(created)
        raise


def replace_depth(obj, depth: DepthResult):
    """Give the photo object `obj` a new depth image (e.g. from another model), keeping its live inputs; its
    background layer follows `depth.background` (a new one, or none). An object made by an older add-on
    version that gets a background layer moves to this version's node group, its live inputs kept."""
    modifier = photo_modifier(obj)
    if depth.background is not None and not node_group.has_input(
        modifier.node_group, node_group.BACKGROUND_DEPTH_IMAGE
    ):
        _upgrade_node_group(modifier)
    old_image = depth_image(obj)
    old_background = background_images(obj)
    name = old_image.name if old_image is not None else obj.name + " depth"
    stem = name.removesuffix(" depth")
    created = []
    try:
        new_image = _new_depth_image(name, depth)
        created.append(new_image)
        values = {node_group.DEPTH_IMAGE: new_image, node_group.METRIC_DEPTH: depth.kind == "DEPTH"}
        material = background_material(obj)
        if depth.background is not None:
            depth_pixels, colour = _new_background_images(stem, depth.background, created)
            if material is None:
                material = _new_material(stem + " background", colour, _is_lit(photo_material(obj)))
                created.append(material)
                obj.data.materials.append(material)
            else:
                _set_material_image(material, colour)
            values |= {node_group.BACKGROUND_DEPTH_IMAGE: depth_pixels, node_group.BACKGROUND_MATERIAL: material}
        elif node_group.has_input(modifier.node_group, node_group.BACKGROUND_DEPTH_IMAGE):
            values[node_group.BACKGROUND_DEPTH_IMAGE] = None
            if material is not None:
                _set_material_image(material, None)
        set_modifier_inputs(modifier, values)
    except BaseException:
        _remove_datablocks(created)
        raise
    for old, new in ((old_image, new_image), *zip(old_background, background_images(obj))):
        if old is not None and old.users == 0:
            old_name = old.name
            bpy.data.images.remove(old)
            if new is not None:
                new.name = old_name  # the old image no longer holds the name
    _record_provenance(obj, depth)


def add_photo_camera(context, obj):
    """A new camera that reproduces the photo object's photo (e.g. after its camera was deleted), remembered on it.

    Linked to the object's first collection in the scene; becomes the scene camera when the scene has none.
    """
    modifier = photo_modifier(obj)
    settings = PhotoObjectSettings(
        focal_length=modifier_input(modifier, node_group.FOCAL_LENGTH),
        sensor_width=modifier_input(modifier, node_group.SENSOR_WIDTH),
    )
    camera = _new_camera(context, obj, settings, photo_size(obj), [])
    camera.matrix_world = obj.matrix_world.normalized()
    (obj.users_collection or (context.scene.collection,))[0].objects.link(camera)
    obj.monocular_photo.camera = camera
    return camera


def photo_size(obj) -> tuple[int, int]:
    """(width, height) of the photo object's photo: its image's, else its depth image's (same aspect)."""
    for image in (photo_image(obj), depth_image(obj)):
        if image is not None and image.size[0] > 0 and image.size[1] > 0:
            return tuple(image.size)
    return (1, 1)


def _upgrade_node_group(modifier):
    """Move the modifier to this add-on version's group, keeping the values of the inputs both groups have."""
    old_group = modifier.node_group
    values = {
        name: modifier_input(modifier, name)
        for name in node_group.input_names()
        if node_group.has_input(old_group, name)
    }
    values |= {spec.name: spec.default for spec in live_inputs.LIVE_INPUTS if spec.name not in values}
    group, _appended = _bundled_node_group()
    modifier.node_group = group
    set_modifier_inputs(modifier, values)


def photo_settings(obj):
    """The provenance property group of a photo object (photo path, model id, depth kind, provider, whether
    the edges were refined)."""
    return obj.monocular_photo


def photo_modifier(obj):
    """The object's Geometry Nodes modifier that uses the Monocular Photo group, or None."""
    for modifier in obj.modifiers:
        if modifier.type == "NODES" and node_group.is_monocular_photo_group(modifier.node_group):
            return modifier
    return None


def is_photo_object(obj) -> bool:
    return obj is not None and photo_modifier(obj) is not None


def depth_image(obj):
    """The depth image datablock the photo object's modifier samples, or None."""
    return modifier_input(photo_modifier(obj), node_group.DEPTH_IMAGE)


def photo_material(obj):
    """The material the photo object's front layer shows, or None."""
    return modifier_input(photo_modifier(obj), node_group.MATERIAL)


def background_material(obj):
    """The material of the photo object's background layer, or None (none yet, or an older object)."""
    modifier = photo_modifier(obj)
    if not node_group.has_input(modifier.node_group, node_group.BACKGROUND_MATERIAL):
        return None
    return modifier_input(modifier, node_group.BACKGROUND_MATERIAL)


def background_images(obj):
    """(depth image, colour image) of the photo object's background layer; None for each it lacks."""
    modifier = photo_modifier(obj)
    if not node_group.has_input(modifier.node_group, node_group.BACKGROUND_DEPTH_IMAGE):
        return None, None
    return modifier_input(modifier, node_group.BACKGROUND_DEPTH_IMAGE), _material_image(background_material(obj))


def photo_image(obj):
    """The photo's image datablock (the one the photo object's material shows), or None.

    It may be packed (an EXIF-rotated photo, one Blender cannot read, or the "pack photo" option), so it can
    stand in for a photo file that has moved.
    """
    return _material_image(photo_material(obj) if photo_modifier(obj) is not None else None)


def _material_image(material):
    """The image a material made by `_new_material` shows, or None."""
    node = _texture_node(material)
    return node.image if node is not None else None


def _texture_node(material):
    if material is None or material.node_tree is None:
        return None
    return next((node for node in material.node_tree.nodes if node.bl_idname == "ShaderNodeTexImage"), None)


def _set_material_image(material, image):
    _texture_node(material).image = image


def _is_lit(material) -> bool:
    """Whether a material made by `_new_material` shades with a BSDF (the "Lit" option)."""
    return (
        material is not None
        and material.node_tree is not None
        and any(node.bl_idname == "ShaderNodeBsdfPrincipled" for node in material.node_tree.nodes)
    )


def photo_source(obj):
    """Where the photo object's photo is now: (file path, None), or (its recorded path, HxWx3 pixels) when the
    file is gone but the .blend still holds the photo packed.

    The photo image's own path comes first: it follows the artist's relinking (File > External Data > Find
    Missing Files); the path recorded when the object was built is the fallback.
    """
    image = photo_image(obj)
    if image is None or not image.filepath:
        path = bpy.path.abspath(obj.monocular_photo.photo_path)
    else:
        path = bpy.path.abspath(image.filepath, library=image.library)
    if not os.path.isfile(path) and image is not None and image.packed_file is not None:
        return path, image_pixels(image)[..., :3]
    return path, None


def modifier_input_property(modifier, name):
    """(data, property path) of the modifier's value for group input `name`, e.g. for `layout.prop(*...)`.

    Blender 4.2 stores modifier inputs as ID properties keyed by socket identifier; 5.x exposes them as
    RNA structs under `modifier.properties.inputs`.
    """
    identifier = node_group.input_identifier(modifier.node_group, name)
    properties = getattr(modifier, "properties", None)
    if properties is None:
        return modifier, f'["{identifier}"]'
    return getattr(properties.inputs, identifier), "value"


def modifier_input(modifier, name):
    """The modifier's current value for group input `name`."""
    data, path = modifier_input_property(modifier, name)
    return data.path_resolve(path)


def set_modifier_inputs(modifier, values):
    """Set several group inputs of the modifier ({input name: value}) and re-evaluate the object."""
    for name, value in values.items():
        data, _path = modifier_input_property(modifier, name)
        if data is modifier:  # Blender 4.2: an ID property keyed by the socket identifier
            modifier[node_group.input_identifier(modifier.node_group, name)] = value
        else:
            data.value = value
    # Writing modifier ID properties from Python does not tag the object for re-evaluation by itself.
    modifier.id_data.update_tag()


def _record_provenance(obj, depth: DepthResult):
    properties = obj.monocular_photo
    properties.model_id = depth.model_id
    properties.depth_kind = depth.kind
    properties.provider = depth.provider
    properties.refined_edges = depth.refined


def _load_photo_image(photo_path: Path, pack: bool, depth: DepthResult):
    """The photo as an image datablock showing the pixels the depth engine decoded (`depth.photo` when it kept
    them: then the file is not read again).

    Blender ignores EXIF orientation when it loads a file, so a rotated photo is read by the depth engine,
    which applies the orientation, and stored as packed pixels. So is a photo Blender cannot read or reads
    differently from Pillow (e.g. a PNG with a bad chunk checksum, or a GIF, which Blender 5.x reads as an
    empty image), whatever its extension: the object never shows something else than what the depth is of.
    """
    if depth.photo is not None:
        reference, size, orientation = depth.photo, depth.photo_size, depth.exif_orientation
    else:  # one Pillow decode serves the orientation, the content check and (when not reduced) the packed copy
        reference, info = decode_photo(photo_path, min_size=_CHECK_DECODE_SIZE)
        size, orientation = info.size, info.exif_orientation
    full_size = reference if (reference.shape[1], reference.shape[0]) == tuple(size) else None
    if orientation not in (0, 1):
        return _new_packed_photo(photo_path.name, full_size if full_size is not None else load_photo(photo_path))
    image = bpy.data.images.load(str(photo_path), check_existing=False)
    if not _shows_pixels(image, reference, size):
        bpy.data.images.remove(image)
        return _new_packed_photo(photo_path.name, full_size if full_size is not None else load_photo(photo_path))
    if pack:
        image.pack()
    elif bpy.data.filepath:
        # Relative to the .blend when it has been saved (like Images as Planes); absolute otherwise.
        image.filepath = bpy.path.relpath(image.filepath)
    image.alpha_mode = "NONE"
    return image


# The content check compares the two decodes averaged over a grid this many blocks along the longer side;
# a block may differ by this much (0..1) for compression or resampling, not for a half-grey or black photo.
_CHECK_GRID = 16
_CHECK_TOLERANCE = 0.08
# Pillow's reference decode for the check: JPEGs decode at a reduced scale keeping at least this many pixels.
_CHECK_DECODE_SIZE = 128
_CHECK_SAMPLED_SIZE = 512


def _shows_pixels(image, reference, size) -> bool:
    """Whether Blender loaded `image` at `size` (width, height) with the averaged content of `reference`,
    Pillow's HxWx3 uint8 decode of the same file (possibly reduced)."""
    if tuple(image.size) != tuple(size):  # (0, 0) when Blender cannot read the file at all
        return False
    # Every k-th pixel of Blender's decode is enough for block means, and much cheaper for a 12 MP photo.
    step = max(1, max(size) // _CHECK_SAMPLED_SIZE)
    shown = image_pixels(image)[::step, ::step, :3]
    expected = reference.astype(np.float32) / 255.0
    if image.is_float:  # 16-bit and EXR photos: Blender holds linear values
        expected = srgb_to_linear(expected)
        shown = np.clip(np.nan_to_num(shown), 0.0, 1.0)
    grid = fit_size(size, _CHECK_GRID)
    difference = np.abs(block_means(shown, grid) - block_means(expected, grid))
    return float(difference.max()) <= _CHECK_TOLERANCE


def image_pixels(image) -> np.ndarray:
    """An image's pixels as HxWx4 float32 with row 0 at the top (Blender stores rows bottom-up)."""
    width, height = image.size
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)
    return rgba.reshape(height, width, 4)[::-1]


def _set_image_pixels(image, rgb):
    """Fill `image` from HxWx3 (or HxWx1, repeated) float values with row 0 at the top; alpha 1."""
    height, width = rgb.shape[:2]
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :3] = rgb[::-1]
    image.pixels.foreach_set(rgba.ravel())


def _new_packed_photo(name, pixels):
    height, width = pixels.shape[:2]
    image = bpy.data.images.new(name, width, height, alpha=False)
    _set_image_pixels(image, pixels / 255.0)
    image.file_format = "PNG"
    image.pack()
    return image


def _new_data_image(name, rgba):
    """A float, non-colour image of HxWx4 values (bottom row first, as Blender stores them), packed as EXR so
    no precision is lost."""
    height, width = rgba.shape[:2]
    image = bpy.data.images.new(name, width, height, alpha=False, float_buffer=True, is_data=True)
    image.pixels.foreach_set(np.ascontiguousarray(rgba, dtype=np.float32).ravel())
    # Packing a generated image writes it in its file format: EXR keeps 32-bit floats.
    image.file_format = "OPEN_EXR"
    image.pack()
    return image


def _new_depth_image(name, depth: DepthResult):
    """The depth map as a packed float, non-colour image (the value in R, G and B)."""
    values = np.asarray(depth.depth, dtype=np.float32)
    height, width = values.shape
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :3] = values[::-1, :, None]
    return _new_data_image(name, rgba)


def _new_background(stem, depth: DepthResult, lit: bool, created) -> dict:
    """The background layer's images and material as group input values ({} without a layer)."""
    if depth.background is None:
        return {}
    depth_pixels, colour = _new_background_images(stem, depth.background, created)
    material = _new_material(stem + " background", colour, lit)
    created.append(material)
    return {node_group.BACKGROUND_DEPTH_IMAGE: depth_pixels, node_group.BACKGROUND_MATERIAL: material}


def _new_background_images(stem, layer, created):
    """(depth image, colour image) of a `BackgroundLayer`, both packed: a float, non-colour EXR holding depth
    (R) and reach (G) over the extended frame, and a PNG holding its colours."""
    depth_pixels = _new_data_image(stem + " background depth", blender_depth_pixels(layer))
    created.append(depth_pixels)
    colour = _new_packed_photo(stem + " background", layer.colour)
    created.append(colour)
    return depth_pixels, colour


def _new_material(name, photo_image, lit: bool):
    """Unlit (emission) material showing the photo through the "UVMap" the group writes; BSDF when lit."""
    material = bpy.data.materials.new(name)
    if material.node_tree is None:  # Blender 4.x; from 5.0 every material has its node tree
        material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()

    uv_map = tree.nodes.new("ShaderNodeUVMap")
    uv_map.uv_map = node_group.UV_MAP_NAME
    uv_map.location = (-600, 0)
    texture = tree.nodes.new("ShaderNodeTexImage")
    texture.image = photo_image
    # EXTEND: bilinear filtering at the border must not blend in the opposite edge of the photo.
    texture.extension = "EXTEND"
    texture.location = (-400, 0)
    tree.links.new(uv_map.outputs["UV"], texture.inputs["Vector"])

    if lit:
        shader = tree.nodes.new("ShaderNodeBsdfPrincipled")
        tree.links.new(texture.outputs["Color"], shader.inputs["Base Color"])
    else:
        shader = tree.nodes.new("ShaderNodeEmission")
        tree.links.new(texture.outputs["Color"], shader.inputs["Color"])
        shader.inputs["Strength"].default_value = 1.0
    shader.location = (-100, 0)
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    output.location = (200, 0)
    tree.links.new(shader.outputs[0], output.inputs["Surface"])
    return material


def _bundled_node_group():
    """The "Monocular Photo" group of this add-on version: reused if already in the file, else appended.

    Returns (group, the groups appended now: its sub-groups, then the group itself; none when reused).
    """
    for group in bpy.data.node_groups:
        if node_group.is_monocular_photo_group(group, current_version=True) and group.library is None:
            return group, []
    libraries_before = set(bpy.data.libraries)
    groups_before = set(bpy.data.node_groups)
    with bpy.data.libraries.load(str(NODE_ASSET_BLEND), link=False) as (data_from, data_to):
        if node_group.GROUP_NAME not in data_from.node_groups:
            raise RuntimeError(f'{NODE_ASSET_BLEND} has no node group "{node_group.GROUP_NAME}".')
        data_to.node_groups = [node_group.GROUP_NAME]
    group = data_to.node_groups[0]
    # Appending leaves an empty Library datablock for the asset file behind; the group itself is local.
    for library in set(bpy.data.libraries) - libraries_before:
        bpy.data.libraries.remove(library)
    # An appended copy is the user's data, not an asset this file publishes in "Current File", and it goes
    # away with its last photo object (the asset file keeps its own copy with a fake user).
    group.asset_clear()
    group.use_fake_user = False
    sub_groups = [appended for appended in bpy.data.node_groups if appended not in groups_before and appended != group]
    return group, [*sub_groups, group]


def _new_camera(context, obj, settings: PhotoObjectSettings, photo_size, created):
    camera_data = bpy.data.cameras.new(obj.name + " camera")
    created.append(camera_data)
    camera_data.lens = settings.focal_length
    camera_data.sensor_width = settings.sensor_width
    camera_data.sensor_fit = "AUTO"
    camera = bpy.data.objects.new(obj.name + " camera", camera_data)
    created.append(camera)
    camera.matrix_world = obj.matrix_basis.copy()  # the object has no parent: its basis is its world matrix

    scene = context.scene
    if scene.camera is None:
        scene.camera = camera
        width, height = photo_size
        render = scene.render
        # Keep the scene's longer render side, give the other the photo's aspect.
        longer_side = max(render.resolution_x, render.resolution_y)
        if width >= height:
            render.resolution_x, render.resolution_y = longer_side, max(1, round(longer_side * height / width))
        else:
            render.resolution_x, render.resolution_y = max(1, round(longer_side * width / height)), longer_side
        render.pixel_aspect_x = render.pixel_aspect_y = 1.0
        # The photo is display-referred already: AgX/Filmic would tone-map it again, and the render from
        # this camera would no longer reproduce it.
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
    return camera


def _remove_datablocks(datablocks):
    """Remove datablocks in reverse creation order (users before what they use)."""
    collections = {
        bpy.types.Object: bpy.data.objects,
        bpy.types.Mesh: bpy.data.meshes,
        bpy.types.Camera: bpy.data.cameras,
        bpy.types.Material: bpy.data.materials,
        bpy.types.Image: bpy.data.images,
        bpy.types.NodeTree: bpy.data.node_groups,
    }
    for datablock in reversed(datablocks):
        for datablock_type, collection in collections.items():
            if isinstance(datablock, datablock_type):
                collection.remove(datablock)
                break
