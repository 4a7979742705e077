"""Key a camera-move preset on a photo object's camera (plain functions; the path maths is in depth/camera_paths).

Frame 1 is the photo's own viewpoint: the photo object's world matrix (without scale) and the focal length and
sensor width of its modifier. Every frame is keyed (location, rotation, lens) on ordinary F-curves.
"""

import numpy as np
from mathutils import Matrix

from . import node_group
from .depth.camera_paths import SceneScale, camera_path, nearest_and_subject
from .photo_object import add_photo_camera, modifier_input, photo_modifier, photo_size

# Camera matrices closer than this (in scene units and rotation-matrix entries) count as the same viewpoint.
SAME_VIEWPOINT_TOLERANCE = 1e-4


def photo_viewpoint(obj) -> Matrix:
    """World matrix of the photo's camera: the photo object's location and rotation, its scale left out."""
    location, rotation, _scale = obj.matrix_world.decompose()
    return Matrix.LocRotScale(location, rotation, None)


def _same_viewpoint(a: Matrix, b: Matrix) -> bool:
    return all(abs(x - y) <= SAME_VIEWPOINT_TOLERANCE for row_a, row_b in zip(a, b) for x, y in zip(row_a, row_b))


def find_photo_camera(context, obj):
    """The photo object's camera: the one it remembers, else a scene camera at the photo's viewpoint, or None."""
    camera = obj.monocular_photo.camera
    if camera is not None and camera.type == 'CAMERA' and camera.name in context.scene.objects:
        return camera
    viewpoint = photo_viewpoint(obj)
    candidates = [context.scene.camera] + [o for o in context.scene.objects if o.type == 'CAMERA']
    for candidate in candidates:
        if (
            candidate is not None
            and candidate.type == 'CAMERA'
            and _same_viewpoint(candidate.matrix_world.normalized(), viewpoint)
        ):
            obj.monocular_photo.camera = candidate
            return candidate
    return None


def ensure_photo_camera(context, obj):
    """The photo object's camera, made anew (at the photo's viewpoint) when it has none."""
    return find_photo_camera(context, obj) or add_photo_camera(context, obj)


def photo_intrinsics(obj) -> tuple[float, float]:
    """(focal length, sensor width) in mm that reproduce the photo, as set on the photo object's modifier."""
    modifier = photo_modifier(obj)
    return modifier_input(modifier, node_group.FOCAL_LENGTH), modifier_input(modifier, node_group.SENSOR_WIDTH)


def view_distances(context, obj) -> np.ndarray:
    """Distances along the photo camera's view axis of the evaluated vertices of the photo object."""
    evaluated = obj.evaluated_get(context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        local = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", local)
    finally:
        evaluated.to_mesh_clear()
    local = local.reshape(-1, 3)
    to_view = np.array(photo_viewpoint(obj).inverted() @ obj.matrix_world)
    view = local @ to_view[:3, :3].T + to_view[:3, 3]
    return -view[:, 2]  # the camera looks down its -Z


def scene_scale(context, obj) -> SceneScale:
    """What sizes a camera move on this photo object: its nearest and median distances and its field of view."""
    nearest, subject = nearest_and_subject(view_distances(context, obj))
    lens, sensor_width = photo_intrinsics(obj)
    width, height = photo_size(obj)
    # Sensor fit AUTO: the sensor width spans the photo's longer side.
    horizontal_sensor = sensor_width * min(1.0, width / height)
    return SceneScale(nearest=nearest, subject=subject, frame_width_per_distance=horizontal_sensor / lens)


def frame_count(duration: float, fps: int) -> int:
    if duration <= 0.0:
        raise ValueError(f"The duration must be more than 0 seconds (got {duration:g}).")
    return max(2, round(duration * fps))


def key_camera_move(context, obj, preset, intensity=1.0, duration=5.0, fps=30, set_frame_range=True):
    """Key `preset` on the photo object's camera on frames 1..N (N = duration x fps) and return the camera.

    The camera's previous location, rotation and lens animation is replaced; it is reset to the photo's
    intrinsics (sensor fit AUTO), so frame 1 reproduces the photo.
    """
    frames = frame_count(duration, fps)
    scale = scene_scale(context, obj)
    path = camera_path(preset, frames, scale, intensity)
    camera = ensure_photo_camera(context, obj)
    lens, sensor_width = photo_intrinsics(obj)

    for datablock in (camera, camera.data):
        if datablock.animation_data is not None:
            datablock.animation_data_clear()
    camera.data.sensor_width = sensor_width
    camera.data.sensor_fit = 'AUTO'
    camera.data.shift_x = camera.data.shift_y = 0.0
    if camera.rotation_mode not in {'XYZ', 'XZY', 'YXZ', 'YZX', 'ZXY', 'ZYX'}:
        camera.rotation_mode = 'XYZ'

    viewpoint = photo_viewpoint(obj)
    for index in range(frames):
        frame = 1 + index
        camera.matrix_world = (
            viewpoint
            @ Matrix.Translation(path.position[index])
            @ Matrix.Rotation(float(path.yaw[index]), 4, 'Y')
            @ Matrix.Rotation(float(path.pitch[index]), 4, 'X')
        )
        camera.data.lens = lens * float(path.lens_factor[index])
        camera.keyframe_insert("location", frame=frame)
        camera.keyframe_insert("rotation_euler", frame=frame)
        camera.data.keyframe_insert("lens", frame=frame)

    scene = context.scene
    if scene.camera is None:
        scene.camera = camera
    if set_frame_range:
        scene.frame_start, scene.frame_end = 1, frames
        scene.render.fps, scene.render.fps_base = fps, 1.0
    scene.frame_set(1)
    return camera
