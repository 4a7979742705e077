"""The photo object's data: images, material, node group, camera, failure cleanup, save/reload, render."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from geometry_helpers import (
    datablock_counts,
    depth_result,
    evaluated_mesh,
    psnr,
    render_from_scene_camera,
    smooth_depth,
    write_photo,
)

from addon import node_group, photo_object
from addon.depth import DepthResult
from addon.photo_object import PhotoObjectSettings

pytestmark = pytest.mark.blender


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "photo.png"
    write_photo(path, 32, 24)
    return path


def photo_material(obj):
    return photo_object.modifier_input(photo_object.photo_modifier(obj), node_group.MATERIAL)


def image_values(image):
    width, height = image.size
    pixels = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(pixels)
    return pixels.reshape(height, width, 4)


def test_depth_image_is_packed_float_non_colour(factory_scene, photo_path):
    depth = smooth_depth(32, 24)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(depth), PhotoObjectSettings())
    image = photo_object.depth_image(obj)
    assert image.is_float and image.colorspace_settings.name == "Non-Color" and image.packed_file is not None
    assert image.packed_file.data[:4] == b"\x76\x2f\x31\x01"  # packed as OpenEXR: 32-bit floats, not 8-bit
    # Exactly the depth map, flipped because Blender image rows start at the bottom.
    np.testing.assert_array_equal(image_values(image)[::-1, :, 0], depth)


def test_object_modifier_material_and_provenance(factory_scene, photo_path):
    factory_scene.cursor.location = (1.0, 2.0, 3.0)
    result = depth_result(smooth_depth(32, 24))
    obj = photo_object.create_photo_object(bpy.context, photo_path, result, PhotoObjectSettings())

    assert bpy.context.view_layer.objects.active == obj and obj.select_get()
    assert tuple(obj.location) == (1.0, 2.0, 3.0)
    # Camera looks along +Y (horizontal), up is +Z.
    rotation = np.array(obj.rotation_euler.to_matrix())
    np.testing.assert_allclose(rotation @ np.array([0.0, 0.0, -1.0]), [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(rotation @ np.array([0.0, 1.0, 0.0]), [0, 0, 1], atol=1e-6)
    assert [modifier.type for modifier in obj.modifiers] == ["NODES"]
    assert photo_object.photo_modifier(obj).node_group.name == node_group.GROUP_NAME
    properties = photo_object.photo_settings(obj)
    assert (properties.photo_path, properties.model_id, properties.depth_kind) == (str(photo_path), "test", "INVERSE")
    photo = photo_material(obj).node_tree.nodes["Image Texture"].image
    assert photo.packed_file is None and bpy.path.abspath(photo.filepath) == str(photo_path)


def test_photo_path_is_relative_once_the_blend_is_saved(factory_scene, photo_path, tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    obj = photo_object.create_photo_object(
        bpy.context, photo_path, depth_result(smooth_depth(32, 24)), PhotoObjectSettings()
    )
    photo = photo_material(obj).node_tree.nodes["Image Texture"].image
    assert photo.filepath == "//photo.png"


def test_pack_photo_and_lit_material(factory_scene, photo_path):
    settings = PhotoObjectSettings(pack_photo=True, lit=True)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(smooth_depth(32, 24)), settings)
    nodes = photo_material(obj).node_tree.nodes
    assert nodes["Image Texture"].image.packed_file is not None
    assert "ShaderNodeBsdfPrincipled" in {node.bl_idname for node in nodes}


def test_the_engines_decode_is_reused_instead_of_reading_the_photo_again(factory_scene, tmp_path, monkeypatch):
    path = tmp_path / "photo.png"
    pixels = write_photo(path, 32, 24)
    depth = dataclasses.replace(depth_result(smooth_depth(32, 24)), photo=pixels)

    def read_again(*_args, **_kwargs):
        raise AssertionError("the photo was decoded again")

    monkeypatch.setattr(photo_object, "decode_photo", read_again)
    obj = photo_object.create_photo_object(bpy.context, path, depth, PhotoObjectSettings(add_camera=False))
    image = photo_object.photo_image(obj)
    # Blender's copy was checked against the engine's pixels, and matched: the file itself is shown.
    assert image.packed_file is None and bpy.path.abspath(image.filepath) == str(path)


def test_rotated_photo_is_stored_upright(factory_scene, tmp_path):
    pixels = np.zeros((16, 32, 3), dtype=np.uint8)
    pixels[:, :8] = 255  # left edge white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the viewer turns it 90 degrees clockwise, the white edge ends on top
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=100)
    # The depth engine read the orientation with the photo's header, and hands it on.
    depth = dataclasses.replace(depth_result(smooth_depth(16, 32)), exif_orientation=6)
    obj = photo_object.create_photo_object(bpy.context, path, depth, PhotoObjectSettings())
    photo = photo_material(obj).node_tree.nodes["Image Texture"].image
    assert tuple(photo.size) == (16, 32) and photo.packed_file is not None
    rows = image_values(photo)[..., 0]
    assert rows[-1].mean() > 0.9 and rows[0].mean() < 0.1  # Blender's last row is the top


def test_photo_blender_reads_as_empty_is_packed_from_its_pixels(factory_scene, tmp_path):
    """Blender 5.x loads some formats Pillow reads (e.g. GIF) as a 0x0 image; the photo must still show."""
    pixels = np.zeros((16, 32, 3), dtype=np.uint8)
    pixels[:4] = 255  # top rows white
    path = tmp_path / "photo.gif"
    Image.fromarray(pixels).save(path)
    images_before = set(bpy.data.images)
    obj = photo_object.create_photo_object(bpy.context, path, depth_result(smooth_depth(32, 16)), PhotoObjectSettings())
    photo = photo_object.photo_image(obj)
    assert tuple(photo.size) == (32, 16)
    rows = image_values(photo)[..., 0]
    assert rows[-1].mean() > 0.9 and rows[0].mean() < 0.1  # Blender's last row is the top
    # No empty image left behind: just the photo and the depth image.
    assert set(bpy.data.images) - images_before == {photo, photo_object.depth_image(obj)}


def test_photo_image_is_the_image_the_material_shows(factory_scene, photo_path):
    obj = photo_object.create_photo_object(
        bpy.context, photo_path, depth_result(smooth_depth(32, 24)), PhotoObjectSettings(pack_photo=True)
    )
    photo = photo_object.photo_image(obj)
    assert photo is photo_material(obj).node_tree.nodes["Image Texture"].image
    assert photo.packed_file is not None and bpy.path.abspath(photo.filepath) == str(photo_path)
    assert photo_object.photo_image(bpy.data.objects.new("Empty", None)) is None


def test_camera_reproduces_the_photo_frame(factory_scene, photo_path):
    settings = PhotoObjectSettings(focal_length=28.0, sensor_width=36.0)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(smooth_depth(32, 24)), settings)
    bpy.context.view_layer.update()
    camera = factory_scene.camera
    assert camera is not None and camera.type == "CAMERA" and camera.parent is None
    np.testing.assert_allclose(np.array(camera.matrix_world), np.array(obj.matrix_world), atol=1e-6)
    assert (camera.data.lens, camera.data.sensor_width, camera.data.sensor_fit) == (28.0, 36.0, "AUTO")
    render = factory_scene.render
    assert render.resolution_x * 24 == render.resolution_y * 32
    assert factory_scene.view_settings.view_transform == "Standard"  # no second tone mapping of the photo


def test_existing_scene_camera_and_render_settings_are_left_alone(factory_scene, photo_path):
    user_camera = bpy.data.objects.new("User Camera", bpy.data.cameras.new("User Camera"))
    factory_scene.collection.objects.link(user_camera)
    factory_scene.camera = user_camera
    factory_scene.render.resolution_x, factory_scene.render.resolution_y = 1000, 1000
    factory_scene.view_settings.view_transform = "AgX"
    photo_object.create_photo_object(bpy.context, photo_path, depth_result(smooth_depth(32, 24)), PhotoObjectSettings())
    assert factory_scene.camera == user_camera
    assert (factory_scene.render.resolution_x, factory_scene.render.resolution_y) == (1000, 1000)
    assert factory_scene.view_settings.view_transform != "Standard"
    assert len(bpy.data.cameras) == 2  # the photo's camera is still added, just not made active


def test_second_object_reuses_the_appended_group(factory_scene, photo_path):
    result = depth_result(smooth_depth(32, 24))
    first = photo_object.create_photo_object(bpy.context, photo_path, result, PhotoObjectSettings(add_camera=False))
    second = photo_object.create_photo_object(bpy.context, photo_path, result, PhotoObjectSettings(add_camera=False))
    # The group and its depth sampler sub-group, once.
    assert sorted(group.name for group in bpy.data.node_groups) == sorted(
        [node_group.GROUP_NAME, node_group.DEPTH_SAMPLER_NAME]
    )
    assert len(bpy.data.libraries) == 0  # appending left no empty Library datablock behind
    assert photo_object.photo_modifier(first).node_group == photo_object.photo_modifier(second).node_group
    # The appended copy does not publish itself as an asset of the user's file, nor outlive its objects.
    for group in bpy.data.node_groups:
        assert group.asset_data is None
        assert not group.use_fake_user


def test_failure_leaves_nothing_behind(factory_scene, photo_path):
    before = datablock_counts()
    # A 1-D depth array gets past the photo image and fails when the depth image is made.
    bad_depth = DepthResult(
        depth=np.zeros(10, dtype=np.float32),
        kind="INVERSE",
        model_id="test",
        photo_size=(32, 24),
        focal_length_35mm=None,
    )
    with pytest.raises(ValueError):
        photo_object.create_photo_object(bpy.context, photo_path, bad_depth, PhotoObjectSettings())
    assert datablock_counts() == before
    assert len(factory_scene.objects) == 0


def test_replace_depth_keeps_the_modifier_and_frees_the_old_image(factory_scene, photo_path):
    settings = PhotoObjectSettings(tear_threshold=0.0, add_camera=False)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(smooth_depth(32, 24)), settings)
    before, *_ = evaluated_mesh(obj)
    modifier = photo_object.photo_modifier(obj)
    old_name = photo_object.depth_image(obj).name

    metric = depth_result(np.full((12, 16), 4.0, dtype=np.float32), kind="DEPTH")
    photo_object.replace_depth(obj, metric)
    after, *_ = evaluated_mesh(obj)
    assert photo_object.photo_modifier(obj) == modifier and len(obj.modifiers) == 1
    assert len(bpy.data.images) == 2 and photo_object.depth_image(obj).name == old_name
    assert photo_object.photo_settings(obj).depth_kind == "DEPTH"
    assert len(after) == len(before)
    np.testing.assert_allclose(after[:, 2], -4.0, rtol=1e-5)


def test_save_and_reload_gives_the_same_geometry(factory_scene, photo_path, tmp_path):
    depth = smooth_depth(32, 24)
    depth[6:18, 10:20] = 1.0  # a torn block, so patches are part of what must survive
    settings = PhotoObjectSettings(resolution=40)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(depth), settings)
    before, before_uvs, before_faces, _ = evaluated_mesh(obj)
    blend_path = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend_path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend_path))

    reloaded = bpy.data.objects["photo"]
    after, after_uvs, after_faces, _ = evaluated_mesh(reloaded)
    np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(after_uvs, before_uvs)
    assert after_faces == before_faces
    image = photo_object.depth_image(reloaded)
    assert image.packed_file is not None and image.is_float and image.colorspace_settings.name == "Non-Color"
    np.testing.assert_array_equal(image_values(image)[::-1, :, 0], depth)


@pytest.mark.slow
def test_render_from_the_created_camera_reproduces_the_photo(factory_scene, tmp_path):
    width, height = 64, 48
    photo_path = tmp_path / "photo.png"
    photo = write_photo(photo_path, width, height)
    depth = smooth_depth(32, 24) * 0.3
    depth[6:16, 8:20] = 0.9  # a near block: its edges tear, and the tears must not show from the camera
    settings = PhotoObjectSettings(resolution=48)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth_result(depth), settings)
    assert len(evaluated_mesh(obj)[2]) > 47 * 35  # more faces than the 48x36 grid: some were torn

    rendered = render_from_scene_camera(factory_scene, width, height, tmp_path)
    value = psnr(rendered, photo)
    assert value >= 35.0, f"PSNR {value:.1f} dB"
