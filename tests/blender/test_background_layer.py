"""The background layer as a user sees it: built by the add operator and Re-estimate, stored in the .blend,
drawn by the node group behind the front layer only behind tears and in the border margin, with its own UVs
and colour image, hidden from the photo's camera, changed live without refilling."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from geometry_helpers import depth_result, psnr, render_from_scene_camera, write_photo

import addon.depth.jobs
from addon import node_group, photo_object
from addon.depth.background import build_background_layer
from addon.photo_object import PhotoObjectSettings

pytestmark = pytest.mark.blender

WIDTH, HEIGHT = 64, 48
NEAR, FAR = 1.0, 10.0  # the live defaults
BLOCK = (slice(14, 34), slice(20, 44))  # a near block: its silhouette is a depth edge
COUNTED_DATA = ("objects", "meshes", "images", "materials", "node_groups", "cameras")


def block_depth(background=0.2, block=0.9):
    depth = np.full((HEIGHT, WIDTH), background, dtype=np.float32)
    depth[BLOCK] = block
    return depth


def distance_of(relative):
    """Distance of relative inverse depth with the default Near/Far, as the node group maps it."""
    return 1.0 / (1.0 / FAR + relative * (1.0 / NEAR - 1.0 / FAR))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    return path, write_photo(path, WIDTH, HEIGHT)


def build(photo, depth, lit=False, **inputs):
    """A photo object with its background layer; returns (object, layer)."""
    path, pixels = photo
    layer = build_background_layer(pixels, depth, "INVERSE")
    settings = PhotoObjectSettings(lit=lit, **{"resolution": WIDTH, **inputs})
    result = dataclasses.replace(depth_result(depth), background=layer)
    obj = photo_object.create_photo_object(bpy.context, path, result, settings)
    return obj, layer


@dataclasses.dataclass
class Layers:
    positions: np.ndarray  # (V, 3) object space
    corner_vertices: np.ndarray  # (C,)
    corner_uvs: np.ndarray  # (C, 2)
    face_corners: list  # per face: its corner indices
    face_materials: list  # per face: its material

    def faces_of(self, material):
        return [
            corners
            for corners, face_material in zip(self.face_corners, self.face_materials)
            if face_material == material
        ]

    def vertices_of(self, material):
        return (
            np.unique(self.corner_vertices[np.concatenate(self.faces_of(material))])
            if self.faces_of(material)
            else np.zeros(0, dtype=np.int64)
        )


def evaluated_layers(obj) -> Layers:
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        positions = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", positions)
        corner_vertices = np.empty(len(mesh.loops), dtype=np.int64)
        mesh.loops.foreach_get("vertex_index", corner_vertices)
        uvs = np.empty(len(mesh.loops) * 2)
        mesh.uv_layers[node_group.UV_MAP_NAME].data.foreach_get("uv", uvs)
        face_corners = [list(polygon.loop_indices) for polygon in mesh.polygons]
        face_materials = [mesh.materials[polygon.material_index].original for polygon in mesh.polygons]
        return Layers(positions.reshape(-1, 3), corner_vertices, uvs.reshape(-1, 2), face_corners, face_materials)
    finally:
        evaluated.to_mesh_clear()


def frame_coordinates(positions):
    """Photo coordinates (u, v: 0..1 across the frame, v = 0 at the bottom) and distance of camera-space points
    (default focal length and sensor: the longer side spans 36 / 35 at distance 1)."""
    distance = -positions[:, 2]
    frame_width = 36.0 / 35.0
    frame_height = frame_width * HEIGHT / WIDTH
    u = positions[:, 0] / distance / frame_width + 0.5
    v = positions[:, 1] / distance / frame_height + 0.5
    return u, v, distance


def pixel_of(u, v):
    """(row, column) of the photo pixel at u, v (row 0 at the top), as nearest-pixel sampling reads it."""
    return (
        np.clip(HEIGHT - 1 - np.floor(v * HEIGHT), 0, HEIGHT - 1).astype(int),
        np.clip(np.floor(u * WIDTH), 0, WIDTH - 1).astype(int),
    )


def datablock_counts():
    return {name: len(getattr(bpy.data, name)) for name in COUNTED_DATA}


def test_layer_lies_behind_the_front_only_behind_tears_and_in_the_margin(factory_scene, photo):
    depth = block_depth()
    obj, layer = build(photo, depth)
    background = photo_object.background_material(obj)
    layers = evaluated_layers(obj)
    vertices = layers.vertices_of(background)
    assert len(layers.faces_of(background)) > 0
    u, v, distance = frame_coordinates(layers.positions[vertices])

    # Inside the frame only near a pixel the layer needs (the band behind the block's silhouette, its rim, the
    # frame's border ring): within a step of its grid (a few pixels), since a face stays when a corner is needed.
    inside = (u > 0.0) & (u < 1.0) & (v > 0.0) & (v < 1.0)
    needed = layer.reach[layer.pad[1] : layer.pad[1] + HEIGHT, layer.pad[0] : layer.pad[0] + WIDTH] <= 1.0
    near_needed = needed.copy()
    for _ in range(node_group.BACKGROUND_GRID_STEP):
        grown = near_needed.copy()
        grown[1:] |= near_needed[:-1]
        grown[:-1] |= near_needed[1:]
        grown[:, 1:] |= near_needed[:, :-1]
        grown[:, :-1] |= near_needed[:, 1:]
        near_needed = grown
    rows, cols = pixel_of(u[inside], v[inside])
    assert near_needed[rows, cols].all()
    # Far from the block, inside the frame: nothing.
    assert not (inside & (np.abs(u - 0.5) < 0.1) & (v > 0.85) & (v < 0.95)).any()
    assert inside.sum() < 0.5 * (WIDTH / 2) * (HEIGHT / 2)
    # Behind the block's silhouette, yes.
    assert (inside & (u > 20 / WIDTH) & (u < 44 / WIDTH) & (v > 1 - 16 / HEIGHT) & (v < 1 - 14 / HEIGHT)).any()
    # Beyond the frame up to the default margin of 0.1, within one grid step.
    step = node_group.BACKGROUND_GRID_STEP / WIDTH
    assert 0.1 - step <= -u.min() <= 0.1 + step and 0.1 - step <= u.max() - 1.0 <= 0.1 + step
    v_step = node_group.BACKGROUND_GRID_STEP / HEIGHT
    assert 0.1 - v_step <= -v.min() <= 0.1 + v_step

    # Behind the front layer: at every photo pixel the layer's distance is at least the photo's own.
    front = distance_of(depth[rows, cols])
    assert (distance[inside] >= front * (1.0 - 1e-5)).all()
    # Behind the block, the layer continues the wall (distance of 0.2), not the block (0.9).
    in_block = np.zeros((HEIGHT, WIDTH), dtype=bool)
    in_block[BLOCK] = True
    behind_block = in_block[rows, cols]
    assert behind_block.any()
    np.testing.assert_allclose(
        distance[inside][behind_block], distance_of(0.2) * (1 + node_group.BACKGROUND_PUSH_BACK), rtol=1e-3
    )


def test_layer_has_its_own_uvs_into_its_own_colour_image(factory_scene, photo):
    obj, layer = build(photo, block_depth())
    background = photo_object.background_material(obj)
    front_material = photo_object.photo_material(obj)
    depth_image, colour_image = photo_object.background_images(obj)
    height, width = layer.depth.shape
    assert tuple(colour_image.size) == (width, height) and tuple(depth_image.size) == (width, height)
    assert photo_object.photo_image(obj) is not colour_image
    # The colour image holds the layer's colours (row 0 at the bottom in Blender).
    shown = np.round(photo_object.image_pixels(colour_image)[..., :3] * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(shown, layer.colour)

    layers = evaluated_layers(obj)
    for material, (pad_x, pad_y), (image_width, image_height) in (
        (background, layer.pad, (width, height)),
        (front_material, (0, 0), (WIDTH, HEIGHT)),
    ):
        corners = np.concatenate(layers.faces_of(material))
        u, v, _ = frame_coordinates(layers.positions[layers.corner_vertices[corners]])
        expected = np.stack([(u * WIDTH + pad_x) / image_width, (v * HEIGHT + pad_y) / image_height], axis=1)
        np.testing.assert_allclose(layers.corner_uvs[corners], expected, atol=1e-4)
    # Each material's texture is its layer's image.
    assert photo_object._material_image(background) is colour_image
    assert photo_object._material_image(front_material) is photo_object.photo_image(obj)


def test_live_inputs_change_the_layer_without_refilling(factory_scene, photo, monkeypatch):
    obj, _layer = build(photo, block_depth())
    modifier = photo_object.photo_modifier(obj)
    background = photo_object.background_material(obj)
    images = photo_object.background_images(obj)
    pixels_before = [np.array(image.pixels[:]) for image in images]
    counts = datablock_counts()

    def refill(*_args, **_kwargs):
        raise AssertionError("a live input recomputed the background layer")

    monkeypatch.setattr(addon.depth.jobs, "build_background_layer", refill)

    def background_faces(reach=1.0, margin=0.1, on=True):
        photo_object.set_modifier_inputs(
            modifier, {node_group.BACKGROUND_REACH: reach, node_group.BORDER_MARGIN: margin, node_group.BACKGROUND: on}
        )
        return len(evaluated_layers(obj).faces_of(background))

    default = background_faces()
    no_reach = background_faces(reach=0.0)
    no_margin = background_faces(margin=0.0)
    nothing_live = background_faces(reach=0.0, margin=0.0)
    wide_margin = background_faces(margin=0.2)
    off = background_faces(on=False)
    assert 0 == off < nothing_live < no_margin < default < wide_margin and nothing_live < no_reach < default
    front_only = len(evaluated_layers(obj).face_corners)
    assert background_faces() == default
    assert len(evaluated_layers(obj).face_corners) == front_only + default

    assert datablock_counts() == counts
    assert [np.array(image.pixels[:]) for image in photo_object.background_images(obj)] and all(
        np.array_equal(before, np.array(image.pixels[:]))
        for before, image in zip(pixels_before, photo_object.background_images(obj))
    )


def test_background_images_are_packed_float_depth_and_colour(factory_scene, photo):
    obj, layer = build(photo, block_depth())
    depth_image, colour_image = photo_object.background_images(obj)
    assert depth_image.name == "photo background depth" and colour_image.name == "photo background"
    assert depth_image.is_float and depth_image.colorspace_settings.name == "Non-Color"
    assert depth_image.packed_file is not None and depth_image.packed_file.data[:4] == b"\x76\x2f\x31\x01"
    assert colour_image.packed_file is not None and colour_image.packed_file.data[1:4] == b"PNG"
    values = photo_object.image_pixels(depth_image)
    np.testing.assert_array_equal(values[..., 0], layer.depth)
    np.testing.assert_array_equal(values[..., 1], layer.reach)
    assert [slot.material for slot in obj.material_slots] == [
        photo_object.photo_material(obj),
        photo_object.background_material(obj),
    ]


def test_save_and_reload_gives_the_same_layer(factory_scene, photo, tmp_path):
    obj, _layer = build(photo, block_depth())
    before = evaluated_layers(obj)
    before_materials = [material.name for material in before.face_materials]
    blend_path = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend_path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend_path))

    reloaded = bpy.data.objects["photo"]
    after = evaluated_layers(reloaded)
    np.testing.assert_array_equal(after.positions, before.positions)
    np.testing.assert_array_equal(after.corner_uvs, before.corner_uvs)
    assert after.face_corners == before.face_corners
    assert [material.name for material in after.face_materials] == before_materials
    assert all(image.packed_file is not None for image in photo_object.background_images(reloaded))


def test_object_without_the_layer_evaluates_as_before(factory_scene, photo):
    """An object made without the layer (background_layer off, or before it existed) has the front only."""
    path, _pixels = photo
    depth = block_depth()
    settings = PhotoObjectSettings(resolution=WIDTH)
    plain = photo_object.create_photo_object(bpy.context, path, depth_result(depth), settings)
    assert photo_object.background_images(plain) == (None, None) and photo_object.background_material(plain) is None
    with_layer, _layer = build(photo, depth)
    photo_object.set_modifier_inputs(photo_object.photo_modifier(with_layer), {node_group.BACKGROUND: False})
    plain_layers, switched_off = evaluated_layers(plain), evaluated_layers(with_layer)
    np.testing.assert_array_equal(plain_layers.positions, switched_off.positions)
    assert plain_layers.face_corners == switched_off.face_corners


def old_group():
    """A group as version 6 made it: the same inputs and identifiers, none of the background layer's."""
    group = node_group.build_node_group("Monocular Photo v6")
    group[node_group.VERSION_PROPERTY] = 6
    for name in (
        node_group.BACKGROUND_DEPTH_IMAGE,
        node_group.BACKGROUND_MATERIAL,
        node_group.BACKGROUND,
        node_group.BACKGROUND_REACH,
        node_group.BORDER_MARGIN,
    ):
        group.interface.remove(
            next(item for item in group.interface.items_tree if item.item_type == "SOCKET" and item.name == name)
        )
    return group


def test_old_object_keeps_working_and_reestimate_adds_the_layer(factory_scene, photo):
    path, pixels = photo
    depth = block_depth()
    settings = PhotoObjectSettings(resolution=WIDTH)
    obj = photo_object.create_photo_object(bpy.context, path, depth_result(depth), settings)
    modifier = photo_object.photo_modifier(obj)
    front = evaluated_layers(obj)
    modifier.node_group = old_group()
    photo_object.set_modifier_inputs(modifier, {node_group.RESOLUTION: WIDTH, node_group.DEPTH_SCALE: 1.5})
    assert photo_object.background_images(obj) == (None, None)
    old = evaluated_layers(obj)
    assert len(old.face_corners) == len(front.face_corners)

    # Re-estimate with the layer: the object moves to this version's group, its live inputs kept.
    layer = build_background_layer(pixels, depth, "INVERSE")
    photo_object.replace_depth(obj, dataclasses.replace(depth_result(depth), background=layer))
    assert node_group.is_monocular_photo_group(modifier.node_group, current_version=True)
    assert photo_object.modifier_input(modifier, node_group.DEPTH_SCALE) == 1.5
    assert photo_object.modifier_input(modifier, node_group.RESOLUTION) == WIDTH
    layers = evaluated_layers(obj)
    assert len(layers.faces_of(photo_object.background_material(obj))) > 0

    # Re-estimate without it: the layer and its images go, the rest stays.
    images = len(bpy.data.images)
    photo_object.replace_depth(obj, depth_result(depth))
    assert photo_object.background_images(obj) == (None, None) and len(bpy.data.images) == images - 2
    assert len(evaluated_layers(obj).faces_of(photo_object.background_material(obj))) == 0


def test_flat_wall_has_only_the_margin_and_the_border_ring(factory_scene, photo):
    obj, layer = build(photo, np.full((HEIGHT, WIDTH), 0.4, dtype=np.float32))
    assert not layer.band.any()
    layers = evaluated_layers(obj)
    u, v, _ = frame_coordinates(layers.positions[layers.vertices_of(photo_object.background_material(obj))])
    inside = (u > 3 / WIDTH) & (u < 1 - 3 / WIDTH) & (v > 3 / HEIGHT) & (v < 1 - 3 / HEIGHT)
    assert len(u) > 0 and not inside.any()


def test_two_by_two_depth_map_builds_a_whole_layer(factory_scene, tmp_path):
    path = tmp_path / "small.png"
    pixels = write_photo(path, 8, 8)
    depth = np.array([[0.1, 0.9], [0.1, 0.1]], dtype=np.float32)
    layer = build_background_layer(pixels[::4, ::4], depth, "INVERSE")
    result = dataclasses.replace(depth_result(depth), background=layer)
    obj = photo_object.create_photo_object(bpy.context, path, result, PhotoObjectSettings())
    layers = evaluated_layers(obj)
    assert np.isfinite(layers.positions).all() and (layers.positions[:, 2] < 0).all()
    assert len(layers.faces_of(photo_object.background_material(obj))) > 0


# Operators.


def write_depth_file(path, depth):
    np.save(path, depth)
    return path


def test_add_operator_builds_the_layer_by_default_and_not_when_off(factory_scene, photo, tmp_path):
    path, _pixels = photo
    depth_path = write_depth_file(tmp_path / "depth.npy", block_depth())
    bpy.ops.mesh.monocular_photo_add(filepath=str(path), depth_filepath=str(depth_path), resolution=WIDTH)
    obj = bpy.context.active_object
    depth_image, colour_image = photo_object.background_images(obj)
    assert depth_image.name == "photo background depth" and colour_image.name == "photo background"
    assert len(evaluated_layers(obj).faces_of(photo_object.background_material(obj))) > 0

    counts = datablock_counts()
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(path), depth_filepath=str(depth_path), background_layer=False, add_camera=False
    )
    plain = bpy.context.active_object
    assert plain is not obj and photo_object.background_images(plain) == (None, None)
    # The object, its mesh, its photo and depth images and its material; no background images or material.
    assert datablock_counts()["images"] == counts["images"] + 2
    assert datablock_counts()["materials"] == counts["materials"] + 1


def test_undo_removes_the_layer_with_the_object(factory_scene, photo, tmp_path):
    path, _pixels = photo
    depth_path = write_depth_file(tmp_path / "depth.npy", block_depth())
    bpy.ops.ed.undo_push(message="before")
    before = datablock_counts()
    bpy.ops.mesh.monocular_photo_add('EXEC_DEFAULT', True, filepath=str(path), depth_filepath=str(depth_path))
    assert photo_object.background_images(bpy.context.active_object)[0] is not None
    bpy.ops.ed.undo()
    assert datablock_counts() == before


def test_reestimate_recomputes_the_layer(factory_scene, photo, tmp_path, tiny_model_path):
    path, _pixels = photo
    depth_path = write_depth_file(tmp_path / "depth.npy", block_depth())
    bpy.ops.mesh.monocular_photo_add(filepath=str(path), depth_filepath=str(depth_path), add_camera=False)
    obj = bpy.context.active_object
    old_depth, old_colour = (np.array(image.pixels[:]) for image in photo_object.background_images(obj))
    images = len(bpy.data.images)

    bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path))
    depth_image, colour_image = photo_object.background_images(obj)
    assert len(bpy.data.images) == images
    assert depth_image.name == "photo background depth" and colour_image.name == "photo background"
    assert not np.array_equal(np.array(depth_image.pixels[:]), old_depth) or not np.array_equal(
        np.array(colour_image.pixels[:]), old_colour
    )

    bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path), background_layer=False)
    assert photo_object.background_images(obj) == (None, None) and len(bpy.data.images) == images - 2


def test_photo_with_transparency_gets_an_opaque_layer(factory_scene, tmp_path):
    path = tmp_path / "transparent.png"
    rgba = np.zeros((HEIGHT, WIDTH, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.where(np.arange(WIDTH) < WIDTH // 2, 0, 255)[None, :]
    Image.fromarray(rgba).save(path)
    depth_path = write_depth_file(tmp_path / "depth.npy", block_depth())
    bpy.ops.mesh.monocular_photo_add(filepath=str(path), depth_filepath=str(depth_path), add_camera=False)
    obj = bpy.context.active_object
    colour = photo_object.image_pixels(photo_object.background_images(obj)[1])
    assert np.isfinite(colour).all() and (colour[..., 3] == 1.0).all()
    assert len(evaluated_layers(obj).faces_of(photo_object.background_material(obj))) > 0


def test_tiny_photo_is_refused_without_a_half_built_object(factory_scene, tmp_path):
    path = tmp_path / "tiny.png"
    write_photo(path, 2, 2)
    depth_path = write_depth_file(tmp_path / "depth.npy", np.full((2, 2), 0.5, dtype=np.float32))
    before = datablock_counts()
    with pytest.raises(RuntimeError, match="tiny.png"):
        bpy.ops.mesh.monocular_photo_add(filepath=str(path), depth_filepath=str(depth_path))
    assert datablock_counts() == before


@pytest.mark.slow
def test_layer_is_hidden_from_the_photo_camera(factory_scene, photo, tmp_path):
    _path, pixels = photo
    depth = block_depth(background=0.1)
    obj, _layer = build(photo, depth, resolution=48)
    assert len(evaluated_layers(obj).faces_of(photo_object.background_material(obj))) > 0
    rendered = render_from_scene_camera(factory_scene, WIDTH, HEIGHT, tmp_path)
    value = psnr(rendered, pixels)
    assert value >= 35.0, f"PSNR {value:.1f} dB"


def test_lit_objects_light_both_layers(factory_scene, photo):
    obj, _layer = build(photo, block_depth(), lit=True)
    for material in (photo_object.photo_material(obj), photo_object.background_material(obj)):
        assert any(node.bl_idname == "ShaderNodeBsdfPrincipled" for node in material.node_tree.nodes)


def test_an_orphan_depth_sampler_is_not_taken_for_the_group(factory_scene, photo):
    """A file can hold this version's depth sampler without its group (saved after the group lost its last user):
    building or upgrading an object must still use the whole group."""
    sampler = node_group._depth_sampler()
    assert not node_group.is_monocular_photo_group(sampler, current_version=True)
    obj, _layer = build(photo, block_depth())
    assert photo_object.photo_modifier(obj).node_group.name.startswith(node_group.GROUP_NAME)
    assert photo_object.photo_modifier(obj).node_group is not sampler
