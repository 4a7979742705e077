"""Video output for a photo object: render settings chosen for it, the output frame, and an H.264 MP4.

A photo object shows the photo unlit (emission), so a render needs no bounces, no denoiser and few samples:
the samples only antialias the photo's texture and its depth edges. Persistent data keeps the scene built
between frames, since only the camera moves.
"""

import os
from pathlib import Path

import bpy

from . import node_group
from .camera_moves import photo_intrinsics
from .depth.camera_paths import fill_extent
from .photo_object import depth_image, photo_modifier, photo_size, set_modifier_inputs

# Vertices along the photo's longer side in a clip: a 12 MP photo's object then renders at 1080x1920 in well
# under 2 GB (a vertex per pixel of its 1024 px depth map peaks at 2 GB).
VIDEO_MESH_RESOLUTION = 768
VIDEO_LONGER_SIDE = 1080
VIDEO_SAMPLES = 8  # antialiasing for the texture and depth edges: 16 renders the same photo (45 dB either way)
VIDEO_FILTER_WIDTH = 1.0  # px: narrower than Cycles' default 1.5, so the photo stays sharp


def default_video_size(photo_width: int, photo_height: int, longer_side: int = VIDEO_LONGER_SIDE) -> tuple[int, int]:
    """The photo's aspect with `longer_side` pixels on its longer side, both sides even (H.264 needs it)."""
    scale = longer_side / max(photo_width, photo_height)
    return tuple(max(2, 2 * round(side * scale / 2)) for side in (photo_width, photo_height))


def use_full_mesh_resolution(obj):
    """A vertex per depth pixel, up to VIDEO_MESH_RESOLUTION: a clip is seen at full size, and silhouettes are
    then as sharp as the depth map (the operator's default resolution is the viewport's, chosen for quick edits)."""
    resolution = min(max(depth_image(obj).size), VIDEO_MESH_RESOLUTION)
    set_modifier_inputs(photo_modifier(obj), {node_group.RESOLUTION: resolution})


def frame_camera(camera, obj, size: tuple[int, int], fit: bool = False):
    """Set the camera's sensor so that an output frame of `size` fills with the photo (crop) or fits it (letterbox).

    The lens (possibly keyed by a camera move, starting at the photo's) is left alone: the sensor spans the
    output's width, at the size that gives it the field of view it has in the photo. Letterboxed, the bars stay
    black: the object's Border Margin is set to 0, or the background layer's scene beyond the frame would show
    in part of them.
    """
    modifier = photo_modifier(obj)
    if fit and node_group.has_input(modifier.node_group, node_group.BORDER_MARGIN):
        set_modifier_inputs(modifier, {node_group.BORDER_MARGIN: 0.0})

    _lens, sensor_width = photo_intrinsics(obj)
    width, height = photo_size(obj)
    longer = max(width, height)
    half_sensor = (sensor_width / 2.0 * width / longer, sensor_width / 2.0 * height / longer)
    half_x, _half_y = fill_extent(half_sensor, size[0] / size[1], fit)
    camera.data.sensor_fit = 'HORIZONTAL'
    camera.data.sensor_width = 2.0 * half_x
    camera.data.shift_x = camera.data.shift_y = 0.0


def configure_render(scene, size: tuple[int, int], fps: int | None = None):
    """Fast Cycles settings for an unlit photo object at `size` pixels; colours as in the photo."""
    render = scene.render
    render.engine = 'CYCLES'
    cycles = scene.cycles
    cycles.device = 'CPU'
    cycles.samples = VIDEO_SAMPLES
    cycles.use_adaptive_sampling = False
    cycles.use_denoising = False
    cycles.max_bounces = 0
    for bounces in (
        "diffuse_bounces",
        "glossy_bounces",
        "transmission_bounces",
        "volume_bounces",
        "transparent_max_bounces",
    ):
        setattr(cycles, bounces, 0)
    cycles.caustics_reflective = cycles.caustics_refractive = False
    cycles.filter_width = VIDEO_FILTER_WIDTH
    render.use_persistent_data = True  # only the camera moves: keep the scene built between frames
    render.use_motion_blur = False
    render.film_transparent = False
    render.resolution_x, render.resolution_y = size
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    if fps is not None:
        render.fps, render.fps_base = fps, 1.0
    # The photo is display-referred: AgX or Filmic would tone-map it again.
    scene.view_settings.view_transform = 'Standard'
    scene.view_settings.look = 'None'
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0


def configure_mp4(scene, filepath):
    """H.264 in an MP4 container through Blender's FFmpeg output, written to `filepath`."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0+: choose video before the file format
        settings.media_type = 'VIDEO'
    settings.file_format = 'FFMPEG'
    settings.color_mode = 'RGB'
    ffmpeg = scene.render.ffmpeg
    ffmpeg.format = 'MPEG4'
    ffmpeg.codec = 'H264'
    ffmpeg.constant_rate_factor = 'HIGH'
    ffmpeg.ffmpeg_preset = 'GOOD'
    ffmpeg.audio_codec = 'NONE'
    scene.render.use_file_extension = True
    scene.render.filepath = str(filepath)


def partial_path(target: Path) -> Path:
    """The temporary name a clip is rendered under, beside `target`, so a failed render never leaves `target`."""
    return target.with_name(f".{target.stem}.{os.getpid()}.partial.mp4")


def check_target(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise FileExistsError(f'"{target}" already exists (use --overwrite to replace it).')
    if not os.access(target.parent, os.W_OK):
        raise PermissionError(f'The output folder "{target.parent}" is not writable.')


def finish_partial(partial: Path, target: Path, overwrite: bool) -> Path:
    """Give the rendered `partial` its final name `target` (the temporary file is removed in any case)."""
    try:
        if not partial.is_file():
            raise RuntimeError(f'Blender wrote no video for "{target.name}".')
        if target.exists() and not overwrite:  # written by someone else meanwhile
            raise FileExistsError(f'"{target}" already exists (use --overwrite to replace it).')
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def render_mp4(scene, target: Path, overwrite: bool = False) -> Path:
    """Render the scene's frame range to the MP4 `target`, written under a temporary name and renamed at the end.

    Nothing is ever left under `target` half-written; an existing `target` is replaced only with `overwrite`.
    """
    target = Path(target)
    check_target(target, overwrite)
    partial = partial_path(target)
    configure_mp4(scene, partial)
    try:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(animation=True, scene=scene.name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return finish_partial(partial, target, overwrite)
