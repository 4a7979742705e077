"""The sidebar's Camera Move section and its Render Video button."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

import addon
from addon import registration
from addon.ui import sidebar

pytestmark = pytest.mark.blender


@pytest.fixture
def photo_object(factory_scene, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((32, 48, 3), 128, dtype=np.uint8)).save(photo)
    depth = tmp_path / "depth.npy"
    np.save(depth, np.full((32, 48), 2.0, dtype=np.float32))
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth), depth_kind='DEPTH')
    return bpy.context.active_object


def test_camera_move_section_shows_for_photo_objects_only(photo_object):
    panel = sidebar.VIEW3D_PT_monocular_photo_camera_move
    assert panel.bl_category == "Monocular Photo"
    assert panel.poll(bpy.context)
    bpy.context.view_layer.objects.active = photo_object.monocular_photo.camera
    assert not panel.poll(bpy.context)
    settings = bpy.context.scene.monocular_photo_camera_move
    assert (settings.preset, settings.intensity, settings.duration) == ('ZOOM_IN', 1.0, 5.0)


def test_render_video_writes_the_clip_under_its_final_name_only(photo_object, tmp_path):
    scene = bpy.context.scene
    bpy.ops.object.monocular_photo_camera_move(preset='ORBIT', duration=0.4, fps=10)
    scene.render.resolution_x, scene.render.resolution_y = 65, 48  # made even for H.264
    out = tmp_path / "clips"
    out.mkdir()

    result = bpy.ops.object.monocular_photo_render_video('EXEC_DEFAULT', filepath=str(out / "orbit.mp4"))

    assert result == {'FINISHED'}
    assert [p.name for p in out.iterdir()] == ["orbit.mp4"]
    clip = bpy.data.movieclips.load(str(out / "orbit.mp4"))
    assert (clip.frame_duration, tuple(clip.size)) == (4, (64, 48))


def test_render_video_into_a_missing_folder_says_so(photo_object, tmp_path):
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.object.monocular_photo_render_video('EXEC_DEFAULT', filepath=str(tmp_path / "no" / "clip.mp4"))


def test_command_line_is_registered_with_the_extension():
    addon.register()
    try:
        assert registration._cli_command is not None  # `blender --command monocular_photo ...`
    finally:
        addon.unregister()
    assert registration._cli_command is None
