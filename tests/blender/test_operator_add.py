"""Add > Mesh > Monocular Photo run from a script: what it builds, its errors, undo and live inputs."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from geometry_helpers import datablock_counts, evaluated_positions

import addon
from addon import depth, node_group
from addon.photo_object import modifier_input, set_modifier_inputs

pytestmark = pytest.mark.blender

PHOTO_SIZE = (48, 32)


def write_photo(path, size=PHOTO_SIZE, focal_length_35mm=None):
    """A horizontal gradient photo (bright on the left), optionally with an EXIF 35 mm focal length."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[...] = np.linspace(255, 0, width, dtype=np.uint8)[None, :, None]
    image = Image.fromarray(pixels)
    if focal_length_35mm is None:
        image.save(path)
    else:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0xA405] = focal_length_35mm  # Exif IFD, FocalLengthIn35mmFilm
        image.save(path, exif=exif)
    return path


@pytest.fixture
def photo_path(tmp_path):
    return write_photo(tmp_path / "photo.png")


@pytest.fixture
def depth_path(tmp_path):
    """Metric depth, 2 to 5 units from left to right, at half the photo's resolution."""
    path = tmp_path / "depth.npy"
    np.save(path, np.tile(np.linspace(2.0, 5.0, PHOTO_SIZE[0] // 2, dtype=np.float32), (PHOTO_SIZE[1] // 2, 1)))
    return path


def assert_photo_object(obj):
    """What the contract promises about the photo object."""
    assert obj is bpy.context.active_object and obj.type == 'MESH'
    assert len(obj.modifiers) == 1
    modifier = obj.modifiers[0]
    assert modifier.type == 'NODES' and node_group.is_monocular_photo_group(modifier.node_group)
    depth_image = modifier_input(modifier, node_group.DEPTH_IMAGE)
    assert depth_image.is_float and depth_image.colorspace_settings.name == "Non-Color"
    assert depth_image.packed_file is not None
    assert obj.material_slots and obj.material_slots[0].material is not None
    assert len(evaluated_positions(obj)) > 0


def test_add_with_tiny_model_builds_object_and_camera(factory_scene, photo_path, tiny_model_path):
    before = datablock_counts()
    runs = depth.inference_run_count()

    result = bpy.ops.mesh.monocular_photo_add(filepath=str(photo_path), model_filepath=str(tiny_model_path))

    assert result == {'FINISHED'}
    assert depth.inference_run_count() == runs + 1
    after = datablock_counts()
    assert after["objects"] == before["objects"] + 2  # the photo object and its camera
    assert after["cameras"] == before["cameras"] + 1
    obj = bpy.context.active_object
    assert_photo_object(obj)
    assert obj.monocular_photo.model_id == tiny_model_path.name
    assert obj.monocular_photo.depth_kind == 'INVERSE'

    scene = bpy.context.scene
    camera = next(o for o in scene.objects if o.type == 'CAMERA')
    assert camera.parent is None
    assert np.allclose(np.array(camera.matrix_world), np.array(obj.matrix_world), atol=1e-6)
    assert scene.camera == camera  # the scene had none
    render = scene.render
    assert render.resolution_x / render.resolution_y == pytest.approx(PHOTO_SIZE[0] / PHOTO_SIZE[1], rel=1e-2)
    # No EXIF focal length in the photo: the documented default.
    assert camera.data.lens == pytest.approx(35.0)
    assert camera.data.sensor_width == pytest.approx(36.0)


def test_add_with_depth_file_skips_the_model(factory_scene, photo_path, depth_path):
    before = datablock_counts()
    runs = depth.inference_run_count()

    # Without the background layer, whose margin continues the depth ramp beyond the frame.
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo_path),
        depth_filepath=str(depth_path),
        depth_kind='DEPTH',
        add_camera=False,
        background_layer=False,
    )

    assert depth.inference_run_count() == runs
    assert datablock_counts()["objects"] == before["objects"] + 1
    obj = bpy.context.active_object
    assert_photo_object(obj)
    assert obj.monocular_photo.model_id == "file" and obj.monocular_photo.depth_kind == 'DEPTH'
    assert not any(o.type == 'CAMERA' for o in bpy.data.objects)
    # Metric depth 2..5 along the view axis (local -Z).
    z = evaluated_positions(obj)[:, 2]
    assert z.max() == pytest.approx(-2.0, abs=0.2) and z.min() == pytest.approx(-5.0, abs=0.2)


def test_scene_with_a_camera_keeps_it(factory_scene, photo_path, depth_path):
    bpy.ops.object.camera_add()
    user_camera = bpy.context.active_object
    bpy.context.scene.camera = user_camera
    render = bpy.context.scene.render
    resolution = (render.resolution_x, render.resolution_y)

    bpy.ops.mesh.monocular_photo_add(filepath=str(photo_path), depth_filepath=str(depth_path))

    assert bpy.context.scene.camera == user_camera
    assert (render.resolution_x, render.resolution_y) == resolution
    assert sum(o.type == 'CAMERA' for o in bpy.data.objects) == 2


def test_focal_length_from_exif_unless_given(factory_scene, tmp_path, depth_path):
    photo = write_photo(tmp_path / "exif.jpg", focal_length_35mm=26)

    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth_path))
    assert bpy.context.scene.camera.data.lens == pytest.approx(26.0)

    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth_path), focal_length=80.0)
    camera = bpy.data.objects[bpy.context.active_object.name + " camera"]
    assert camera.data.lens == pytest.approx(80.0)
    modifier = bpy.context.active_object.modifiers[0]
    assert modifier_input(modifier, node_group.FOCAL_LENGTH) == pytest.approx(80.0)


def test_operator_has_every_contract_property():
    addon.register()
    try:
        names = bpy.ops.mesh.monocular_photo_add.get_rna_type().properties.keys()
    finally:
        addon.unregister()
    contract = {
        "filepath",
        "depth_filepath",
        "depth_kind",
        "model",
        "model_filepath",
        "focal_length",
        "sensor_width",
        "near",
        "far",
        "resolution",
        "add_camera",
    }
    assert contract <= set(names)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing photo", r"nowhere\.png"),
        ("not an image", r"notes\.png"),
        ("bad depth file", r"depth\.npy"),
        ("bad model", r"bad_output_shape\.onnx"),
        ("missing model", r"absent\.onnx"),
        ("near beyond far", r"Near \(5\) must be smaller than Far \(2\)"),
    ],
)
def test_bad_input_is_one_clear_error_and_leaves_scene_unchanged(
    factory_scene, tmp_path, photo_path, test_models_dir, case, message
):
    arguments = {"filepath": str(photo_path), "model_filepath": str(test_models_dir / "tiny_fixed.onnx")}
    if case == "missing photo":
        # With the default model, which may not be installed: the photo is still what is reported.
        arguments = {"filepath": str(tmp_path / "nowhere.png")}
    elif case == "not an image":
        (tmp_path / "notes.png").write_text("not a photo")
        arguments["filepath"] = str(tmp_path / "notes.png")
    elif case == "bad depth file":
        (tmp_path / "depth.npy").write_bytes(b"garbage")
        arguments["depth_filepath"] = str(tmp_path / "depth.npy")
    elif case == "bad model":
        arguments["model_filepath"] = str(test_models_dir / "bad_output_shape.onnx")
    elif case == "missing model":
        arguments["model_filepath"] = str(tmp_path / "absent.onnx")
    else:
        arguments.update(near=5.0, far=2.0)
    before = datablock_counts()

    with pytest.raises(RuntimeError, match=message) as raised:
        bpy.ops.mesh.monocular_photo_add(**arguments)

    assert datablock_counts() == before
    # One sentence (bpy.ops prefixes "Error: ").
    text = str(raised.value).strip().removeprefix("Error: ")
    assert text.endswith(".") and "\n" not in text


def test_live_input_changes_geometry_without_inference(factory_scene, photo_path, tiny_model_path):
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo_path), model_filepath=str(tiny_model_path))
    obj = bpy.context.active_object
    modifier = obj.modifiers[0]
    runs = depth.inference_run_count()
    before = evaluated_positions(obj)

    set_modifier_inputs(modifier, {node_group.FAR: 30.0})
    after = evaluated_positions(obj)

    assert before.shape == after.shape and not np.allclose(before, after)
    assert depth.inference_run_count() == runs


def test_undo_removes_everything_the_operator_added(factory_scene, photo_path, depth_path):
    bpy.ops.ed.undo_push(message="before")
    before = datablock_counts()

    # ('EXEC_DEFAULT', True): undo=True makes the call push its undo step as the UI does (scripts don't).
    bpy.ops.mesh.monocular_photo_add('EXEC_DEFAULT', True, filepath=str(photo_path), depth_filepath=str(depth_path))
    assert datablock_counts() != before
    bpy.ops.ed.undo()

    assert datablock_counts() == before


def test_needs_object_mode(factory_scene):
    bpy.ops.mesh.primitive_cube_add()
    bpy.ops.object.mode_set(mode='EDIT')
    assert not bpy.ops.mesh.monocular_photo_add.poll()
    bpy.ops.object.mode_set(mode='OBJECT')
    assert bpy.ops.mesh.monocular_photo_add.poll()
