"""Re-estimate depth: another model on the active photo object, same modifier and live inputs."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from addon import depth, node_group
from addon.photo_object import depth_image, modifier_input, set_modifier_inputs

pytestmark = pytest.mark.blender


def build_from_half_bright_photo(tmp_path, pack_photo=False, name="photo.png"):
    """A photo object built from a flat depth file (no model run); returns (photo path, object)."""
    photo = tmp_path / name
    pixels = np.zeros((32, 48, 3), dtype=np.uint8)
    pixels[:, :24] = 255  # left half bright: near for the tiny test model
    Image.fromarray(pixels).save(photo)
    depth_file = tmp_path / "flat.npy"
    np.save(depth_file, np.full((32, 48), 0.5, dtype=np.float32))
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo), depth_filepath=str(depth_file), add_camera=False, pack_photo=pack_photo
    )
    return photo, bpy.context.active_object


@pytest.fixture
def photo_object(factory_scene, tmp_path):
    """A photo object from a flat depth file, with a changed live input."""
    _photo, obj = build_from_half_bright_photo(tmp_path)
    set_modifier_inputs(obj.modifiers[0], {node_group.FAR: 20.0})
    return obj


def test_reestimate_replaces_depth_and_runs_model_once(photo_object, tiny_model_path):
    modifier = photo_object.modifiers[0]
    old_pixels = np.array(depth_image(photo_object).pixels[:])
    images = len(bpy.data.images)
    runs = depth.inference_run_count()

    result = bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path))

    assert result == {'FINISHED'}
    assert depth.inference_run_count() == runs + 1
    assert photo_object.modifiers[:] == [modifier]  # same modifier, live inputs kept
    assert modifier_input(modifier, node_group.FAR) == pytest.approx(20.0)
    new_image = depth_image(photo_object)
    assert new_image.is_float and new_image.packed_file is not None
    assert not np.allclose(np.array(new_image.pixels[:]), old_pixels)
    assert len(bpy.data.images) == images  # the old depth image does not linger
    assert photo_object.monocular_photo.model_id == tiny_model_path.name
    assert photo_object.monocular_photo.depth_kind == 'INVERSE'


def test_reestimate_with_bad_model_keeps_depth(photo_object, test_models_dir):
    old_image = depth_image(photo_object)

    with pytest.raises(RuntimeError, match=r"nan_output\.onnx"):
        bpy.ops.object.monocular_photo_reestimate(model_filepath=str(test_models_dir / "nan_output.onnx"))

    assert depth_image(photo_object) == old_image
    assert photo_object.monocular_photo.model_id == "file"


def test_reestimate_needs_a_photo_object(photo_object):
    bpy.ops.mesh.primitive_cube_add()
    assert not bpy.ops.object.monocular_photo_reestimate.poll()


def test_undo_restores_the_previous_depth(photo_object, tiny_model_path):
    name = photo_object.name
    old_pixels = np.array(depth_image(photo_object).pixels[:])
    bpy.ops.ed.undo_push(message="before")

    bpy.ops.object.monocular_photo_reestimate('EXEC_DEFAULT', True, model_filepath=str(tiny_model_path))
    bpy.ops.ed.undo()

    obj = bpy.data.objects[name]  # undo reloads the data: earlier references are stale
    assert obj.monocular_photo.model_id == "file"
    assert np.allclose(np.array(depth_image(obj).pixels[:]), old_pixels)


def test_reestimate_uses_the_packed_photo_when_its_file_is_gone(factory_scene, tmp_path, tiny_model_path):
    photo, obj = build_from_half_bright_photo(tmp_path, pack_photo=True, name="moved away.png")
    photo.unlink()

    assert bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path)) == {'FINISHED'}

    image = depth_image(obj)
    width, height = image.size
    near = np.array(image.pixels[:]).reshape(height, width, 4)[::-1, :, 0]  # row 0 at the top
    assert near[:, : width // 4].mean() > near[:, -width // 4 :].mean() + 0.5  # the bright half is near


def test_reestimate_without_the_photo_says_which_file_is_missing(factory_scene, tmp_path, tiny_model_path):
    photo, obj = build_from_half_bright_photo(tmp_path, name="moved away.png")
    photo.unlink()
    old_image = depth_image(obj)

    with pytest.raises(RuntimeError, match="moved away.png"):
        bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path))
    assert depth_image(obj) == old_image
