"""Video output: the MP4 tools/photo_to_video.py writes, its exit statuses, no overwriting, and the frame fill."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from addon import node_group, video
from addon.photo_object import depth_image, modifier_input, photo_modifier
from addon.video import configure_render, default_video_size, frame_camera, use_full_mesh_resolution

pytestmark = [pytest.mark.blender, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "photo_to_video.py"
PHOTO_SIZE = (96, 64)
CLIP = ["--size", "96x64", "--seconds", "0.3", "--fps", "10", "--depth-kind", "DEPTH"]


def smooth_photo(size=PHOTO_SIZE) -> np.ndarray:
    """Soft colour waves: detailed enough to tell a shifted or blurred frame, smooth enough for H.264."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    rgb = np.stack([np.sin(7 * x + 1), np.cos(5 * y + 3 * x), np.sin(4 * (x + y))], axis=-1)
    return np.round(127.5 + 100 * rgb).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(error, 1e-12))


@pytest.fixture
def photos(tmp_path):
    """Two photos and their metric depth maps (a plane 3 units away), named as tools/depth_solve.py names them."""
    photo_dir, depth_dir = tmp_path / "photos", tmp_path / "depth"
    photo_dir.mkdir()
    depth_dir.mkdir()
    for name in ("first", "second"):
        Image.fromarray(smooth_photo()).save(photo_dir / f"{name}.png")
        np.save(depth_dir / f"{name}.npy", np.full(PHOTO_SIZE[::-1], 3.0, dtype=np.float32))
    return photo_dir, depth_dir


def run_tool(*args):
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=600, cwd=REPO_ROOT
    )


def read_clip(path: Path):
    """(frame count, (width, height), fps, first frame as HxWx3 uint8) of an MP4, decoded by Blender."""
    clip = bpy.data.movieclips.load(str(path))
    facts = clip.frame_duration, tuple(clip.size), clip.fps
    bpy.data.movieclips.remove(clip)
    image = bpy.data.images.load(str(path))  # a movie image: its pixels are the first frame
    width, height = image.size
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)
    bpy.data.images.remove(image)
    first = np.round(rgba.reshape(height, width, 4)[::-1, :, :3] * 255).astype(np.uint8)
    return (*facts, first)


def test_clip_decodes_with_the_right_frames_and_first_frame(factory_scene, photos, tmp_path):
    photo_dir, depth_dir = photos
    out = tmp_path / "clips"

    # A missing photo fails on its own line; the others are still written.
    result = run_tool(
        photo_dir / "first.png",
        tmp_path / "missing.png",
        "--out",
        out,
        "--depth-dir",
        depth_dir,
        "--preset",
        "zoom-in",
        *CLIP,
    )

    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 1 and "missing.png" in failures[0]
    assert sorted(p.name for p in out.iterdir()) == ["first.mp4"]  # no temporary file left behind
    frames, size, fps, first_frame = read_clip(out / "first.mp4")
    assert (frames, size, fps) == (3, PHOTO_SIZE, 10)
    assert psnr(first_frame, smooth_photo()) >= 30.0


def test_existing_clips_are_kept_unless_overwrite(factory_scene, photos, tmp_path):
    photo_dir, depth_dir = photos
    out = tmp_path / "clips"
    out.mkdir()
    (out / "first.mp4").write_bytes(b"the artist's clip")

    result = run_tool(photo_dir, "--out", out, "--depth-dir", depth_dir, "--preset", "circle", *CLIP)

    assert result.returncode == 1
    assert "first.mp4" in result.stderr and "--overwrite" in result.stderr
    assert (out / "first.mp4").read_bytes() == b"the artist's clip"
    assert (out / "second.mp4").stat().st_size > 1000  # the folder's other photo still made its clip

    result = run_tool(photo_dir / "first.png", "--out", out, "--depth-dir", depth_dir, "--overwrite", *CLIP)

    assert result.returncode == 0, result.stderr
    assert read_clip(out / "first.mp4")[:3] == (3, PHOTO_SIZE, 10)
    assert sorted(p.name for p in out.iterdir()) == ["first.mp4", "second.mp4"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--seconds", "0"],
        ["--size", "97x64"],
        ["--preset", "spin"],
        ["--model", "no-such-model"],
    ],
)
def test_usage_errors_exit_with_2(photos, tmp_path, arguments):
    photo_dir, _depth_dir = photos
    result = run_tool(photo_dir, "--out", tmp_path / "clips", *arguments)
    assert result.returncode == 2
    assert result.stderr.strip()
    assert not (tmp_path / "clips").exists() or not any((tmp_path / "clips").iterdir())


def test_missing_depth_map_fails_that_photo(photos, tmp_path):
    photo_dir, depth_dir = photos
    (depth_dir / "second.npy").unlink()
    result = run_tool(photo_dir / "second.png", "--out", tmp_path / "clips", "--depth-dir", depth_dir, *CLIP)
    assert result.returncode == 1
    assert "no depth map" in result.stderr and "second" in result.stderr


def render_still(scene, path):
    scene.render.image_settings.file_format = 'PNG'
    scene.render.image_settings.color_mode = 'RGB'
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("fit", (False, True))
def test_other_aspects_fill_or_fit_the_frame(factory_scene, photos, tmp_path, fit):
    photo_dir, depth_dir = photos
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo_dir / "first.png"), depth_filepath=str(depth_dir / "first.npy"), depth_kind='DEPTH'
    )
    obj = bpy.context.active_object
    scene = bpy.context.scene
    camera = obj.monocular_photo.camera
    configure_render(scene, (64, 64))
    frame_camera(camera, obj, (64, 64), fit=fit)

    frame = render_still(scene, tmp_path / "square.png")

    photo = smooth_photo()
    if fit:  # the whole photo, 64x43, between black bars
        assert frame[:8].max() < 10 and frame[-8:].max() < 10
        expected = np.asarray(Image.fromarray(photo).resize((64, 43), Image.BILINEAR))
        assert psnr(frame[11:53][2:-2, 2:-2], expected[:42][2:-2, 2:-2]) >= 25.0
    else:  # the photo's middle 64x64
        assert psnr(frame, photo[:, 16:80]) >= 35.0


def test_clips_use_a_vertex_per_depth_pixel_up_to_a_cap(factory_scene, photos, monkeypatch):
    photo_dir, depth_dir = photos
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo_dir / "first.png"), depth_filepath=str(depth_dir / "first.npy"), depth_kind='DEPTH'
    )
    obj = bpy.context.active_object
    use_full_mesh_resolution(obj)
    assert modifier_input(photo_modifier(obj), node_group.RESOLUTION) == max(depth_image(obj).size) == PHOTO_SIZE[0]
    monkeypatch.setattr(video, "VIDEO_MESH_RESOLUTION", 50)  # as a 12 MP photo's 1024 px map meets the 768 cap
    use_full_mesh_resolution(obj)
    assert modifier_input(photo_modifier(obj), node_group.RESOLUTION) == 50


def test_default_video_size_keeps_the_aspect_with_even_sides():
    assert default_video_size(4000, 3000) == (1080, 810)
    assert default_video_size(3000, 4000) == (810, 1080)
    assert default_video_size(1001, 333) == (1080, 360)


def test_command_handler_renders_in_a_scene_of_its_own(factory_scene, photos, tmp_path):
    """What `blender --command monocular_photo video ...` runs: the artist's scene and data are left as they were."""
    from addon.video_cli import command_handler

    photo_dir, depth_dir = photos
    bpy.ops.mesh.primitive_cube_add()
    scene = bpy.context.scene
    objects_before = sorted(obj.name for obj in bpy.data.objects)
    scenes_before = len(bpy.data.scenes)

    assert (
        command_handler(
            [
                "video",
                str(photo_dir / "first.png"),
                "--out",
                str(tmp_path / "clips"),
                "--depth-dir",
                str(depth_dir),
                *CLIP,
            ]
        )
        == 0
    )

    assert (tmp_path / "clips" / "first.mp4").is_file()
    assert bpy.context.scene == scene and len(bpy.data.scenes) == scenes_before
    assert sorted(obj.name for obj in bpy.data.objects) == objects_before
    assert command_handler([]) == 2 and command_handler(["audio"]) == 2


def test_command_handler_runs_without_a_window(factory_scene, photos, tmp_path):
    """`blender -b --command` may give the handler no window (so no screen context): it still works."""
    from addon.video_cli import command_handler

    photo_dir, depth_dir = photos
    with bpy.context.temp_override(window=None):
        status = command_handler(
            [
                "video",
                str(photo_dir / "first.png"),
                "--out",
                str(tmp_path / "clips"),
                "--depth-dir",
                str(depth_dir),
                *CLIP,
            ]
        )
    assert status == 0 and (tmp_path / "clips" / "first.mp4").is_file()
    assert len(bpy.data.scenes) == 1 and not bpy.data.objects
