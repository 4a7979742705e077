"""Camera Move on a photo object: keyed path, its start, smoothness, loops, scale, errors and undo."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

from addon.camera_moves import photo_viewpoint
from addon.depth.camera_paths import LOOP_PRESETS, PRESETS, SHIFT_PER_INTENSITY

pytestmark = pytest.mark.blender

PHOTO_SIZE = (48, 32)
FOCAL_LENGTH = 35.0


def build_photo_object(tmp_path, distance, name="photo"):
    """A photo object from a gradient photo and metric depth: a plane at `distance`, a nearer band at 0.8x."""
    width, height = PHOTO_SIZE
    photo = tmp_path / f"{name}.png"
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[...] = np.linspace(40, 220, width, dtype=np.uint8)[None, :, None]
    Image.fromarray(pixels).save(photo)
    depth = np.full((height, width), distance, dtype=np.float32)
    depth[:, : width // 4] = 0.8 * distance
    depth_file = tmp_path / f"{name}_depth.npy"
    np.save(depth_file, depth)
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo),
        depth_filepath=str(depth_file),
        depth_kind='DEPTH',
        focal_length=FOCAL_LENGTH,
        resolution=48,
    )
    return bpy.context.active_object


def camera_track(obj, frames):
    """(positions in the photo camera's frame, lens) of the photo object's camera on frames 1..frames."""
    scene = bpy.context.scene
    camera = obj.monocular_photo.camera
    to_photo_view = photo_viewpoint(obj).inverted()
    positions, lenses = [], []
    for frame in range(1, frames + 1):
        scene.frame_set(frame)
        positions.append(tuple(to_photo_view @ camera.matrix_world.translation))
        lenses.append(camera.data.lens)
    scene.frame_set(1)
    return np.array(positions), np.array(lenses)


@pytest.fixture
def photo_object(factory_scene, tmp_path):
    return build_photo_object(tmp_path, 2.0)


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_starts_at_the_photo_and_moves_smoothly(photo_object, preset):
    result = bpy.ops.object.monocular_photo_camera_move(preset=preset, duration=2.0, fps=30)

    assert result == {'FINISHED'}
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 60, 30)
    camera = photo_object.monocular_photo.camera
    assert scene.camera == camera
    assert camera.animation_data.action is not None  # ordinary keyframes the artist can edit
    scene.frame_set(1)
    viewpoint = photo_viewpoint(photo_object)
    assert np.allclose(np.array(camera.matrix_world), np.array(viewpoint), atol=1e-5)
    assert camera.data.lens == pytest.approx(FOCAL_LENGTH)

    positions, lenses = camera_track(photo_object, 60)
    track = np.column_stack([positions, lenses / FOCAL_LENGTH])
    if preset in LOOP_PRESETS:
        track = np.vstack([track, track[:2]])  # frame 61 would be frame 1: smooth across the seam too
    travel = np.ptp(track, axis=0).max()
    assert travel > 0.01
    assert np.abs(np.diff(track, n=2, axis=0)).max() < 50.0 / 60**2 * travel


@pytest.mark.parametrize("preset", ("ZOOM_IN", "HORIZONTAL", "ORBIT"))
def test_moves_scale_with_the_scene_depth(factory_scene, tmp_path, preset):
    tracks = []
    for distance in (2.0, 200.0):
        obj = build_photo_object(tmp_path, distance, name=f"photo_{distance:g}")
        bpy.ops.object.monocular_photo_camera_move(preset=preset, duration=1.0, fps=10)
        tracks.append(camera_track(obj, 10)[0])
    near, far = tracks
    assert np.abs(near).max() > 0.001
    assert np.allclose(far, 100.0 * near, atol=1e-3 * np.abs(far).max())


def test_intensity_scales_the_shift_of_the_nearest_point(photo_object):
    """Intensity 1: the nearest point moves about 4 % of the frame width on screen; 2: twice that."""
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = PHOTO_SIZE
    nearest_point = photo_object.matrix_world @ Vector((0.0, 0.0, -1.6))  # on the near band's plane, on axis
    for intensity in (1.0, 2.0):
        bpy.ops.object.monocular_photo_camera_move(preset='HORIZONTAL', intensity=intensity, duration=2.0, fps=20)
        camera = photo_object.monocular_photo.camera
        screen_x = []
        for frame in range(1, 41):
            scene.frame_set(frame)
            screen_x.append(world_to_camera_view(scene, camera, nearest_point).x)
        shift = max(abs(x - screen_x[0]) for x in screen_x)
        assert shift == pytest.approx(SHIFT_PER_INTENSITY * intensity, rel=0.05)


def test_deleted_camera_is_made_again(photo_object):
    bpy.data.objects.remove(photo_object.monocular_photo.camera)

    assert bpy.ops.object.monocular_photo_camera_move(preset='ZOOM_IN', duration=1.0) == {'FINISHED'}

    camera = photo_object.monocular_photo.camera
    assert camera is not None and camera.name in bpy.context.scene.objects
    bpy.context.scene.frame_set(1)
    assert np.allclose(np.array(camera.matrix_world), np.array(photo_viewpoint(photo_object)), atol=1e-5)


def test_camera_is_found_by_its_viewpoint_when_not_remembered(photo_object):
    camera = photo_object.monocular_photo.camera
    photo_object.monocular_photo.camera = None
    cameras_before = len(bpy.data.cameras)

    bpy.ops.object.monocular_photo_camera_move(preset='VERTICAL', duration=1.0)

    assert photo_object.monocular_photo.camera == camera and len(bpy.data.cameras) == cameras_before


def test_applying_again_replaces_the_move(photo_object):
    bpy.ops.object.monocular_photo_camera_move(preset='ZOOM_IN', duration=1.0, fps=10)
    bpy.ops.object.monocular_photo_camera_move(preset='HORIZONTAL', duration=1.0, fps=10, set_frame_range=False)

    positions, _lenses = camera_track(photo_object, 10)
    assert np.allclose(positions[:, 2], 0.0, atol=1e-6)  # no push left over from the zoom
    assert np.abs(positions[:, 0]).max() > 0.001


def test_set_frame_range_off_keeps_the_scene_range(photo_object):
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end, scene.render.fps = 5, 7, 24
    bpy.ops.object.monocular_photo_camera_move(duration=1.0, fps=10, set_frame_range=False)
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (5, 7, 24)


def test_errors_name_the_problem(photo_object):
    with pytest.raises(RuntimeError, match="more than 0 seconds"):
        bpy.ops.object.monocular_photo_camera_move(duration=0.0)
    with pytest.raises(RuntimeError, match="more than 0 seconds"):
        bpy.ops.object.monocular_photo_camera_move(duration=-1.0)
    bpy.ops.object.select_all(action='DESELECT')
    bpy.context.view_layer.objects.active = photo_object.monocular_photo.camera
    with pytest.raises(RuntimeError, match="not a photo object"):
        bpy.ops.object.monocular_photo_camera_move()


def test_undo_removes_the_move(photo_object):
    camera_name = photo_object.monocular_photo.camera.name
    bpy.ops.ed.undo_push(message="before")

    bpy.ops.object.monocular_photo_camera_move('EXEC_DEFAULT', True, preset='ZOOM_IN')
    assert bpy.data.objects[camera_name].animation_data is not None
    bpy.ops.ed.undo()

    assert bpy.data.objects[camera_name].animation_data is None
