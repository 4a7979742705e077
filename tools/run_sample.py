"""The README's main job: one photo → a 3D scene, saved as a .blend with renders, in one command.

    python tools/run_sample.py [--out out/sample] [--photo PATH] [--frames 48] [--width 480]

Runs in a Python that has the `bpy` module (tools/run_sample.sh sets one up). With no --photo it uses the
bundled sample (tools/sample/, made by tools/make_sample.py): when the real default model is installed in
onnx_models/ with a matching hash it runs the model, otherwise it uses the sample's exact depth, so the job
works offline. It writes into --out:
  monocular_photo.blend   the scene: photo object, its camera, and a "3D zoom" camera move on frames 1..N
                          (the Zoom In preset at intensity ZOOM_INTENSITY, 24 fps)
  render_original.png     a render from the photo's own camera (it reproduces the photo)
  render_moved.png        the last frame of the camera move (the parallax the depth gives)
  preview.png             photo | depth | moved render, side by side (the README's picture)
  monocular_photo.mp4     the whole move as an H.264 clip, rendered with the add-on's video settings
  preview.webp            the move as a looping animated WebP, WEBP_WIDTH px wide (the README's animation)
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # a tool run from a checkout: import the add-on package from source

import bpy
import numpy as np

import addon
from addon.camera_moves import key_camera_move
from addon.depth import load_photo, models
from addon.photo_object import depth_image, image_pixels
from addon.video import configure_render, render_mp4

SAMPLE_DIR = REPO_ROOT / "tools" / "sample"
FPS = 24
ZOOM_INTENSITY = 4.0  # a clearly visible push for the README (1.0 is the subtle default)
WEBP_WIDTH = 320
WEBP_FRAME_STEP = 2  # every other frame: half the renders and file size, still smooth at 12 fps


def default_model_available():
    spec = models.get_model(models.DEFAULT_MODEL_ID)
    return spec.find_file(()) is not None


def build_scene(photo, depth_file):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    kwargs = {"filepath": str(photo), "add_camera": True}
    if depth_file is not None:
        kwargs.update(depth_filepath=str(depth_file), depth_kind="DEPTH")
    started = time.perf_counter()
    bpy.ops.mesh.monocular_photo_add(**kwargs)
    print(
        f"photo object built in {time.perf_counter() - started:.2f} s "
        f"({'exact sample depth' if depth_file else 'model ' + models.DEFAULT_MODEL_ID})"
    )
    return bpy.context.active_object


def add_camera_move(obj, frames):
    """Key the "3D zoom": the Zoom In preset over `frames` frames, starting at the photo's viewpoint."""
    camera = key_camera_move(bpy.context, obj, 'ZOOM_IN', intensity=ZOOM_INTENSITY, duration=frames / FPS, fps=FPS)
    bpy.context.scene.camera = camera


def set_width(scene, width):
    """Render `width` pixels wide at the photo's aspect (even sides, for H.264)."""
    aspect = scene.render.resolution_y / scene.render.resolution_x
    configure_render(scene, (width - width % 2, 2 * round(width * aspect / 2)))
    if hasattr(scene.render.image_settings, "media_type"):  # Blender 5.x: after a video, images again
        scene.render.image_settings.media_type = "IMAGE"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"


def write_webp(scene, path, width):
    """Render every WEBP_FRAME_STEP-th frame at `width` and save them as a looping animated WebP."""
    from PIL import Image

    set_width(scene, width)
    frames = range(scene.frame_start, scene.frame_end + 1, WEBP_FRAME_STEP)
    with tempfile.TemporaryDirectory() as folder:
        images = []
        for frame in frames:
            render_frame(scene, frame, Path(folder) / f"{frame:04d}.png")
            images.append(Image.open(Path(folder) / f"{frame:04d}.png").convert("RGB"))
    # Forward then back, so the loop has no jump.
    sequence = images + images[-2:0:-1]
    sequence[0].save(
        path,
        save_all=True,
        append_images=sequence[1:],
        duration=round(1000 * WEBP_FRAME_STEP / FPS),
        loop=0,
        quality=80,
        method=4,
    )


def render_frame(scene, frame, path):
    scene.frame_set(frame)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def depth_shade(obj):
    """The photo object's packed depth image as 0..1 grey, near = bright, row 0 at the top."""
    values = image_pixels(depth_image(obj))[..., 0]
    if obj.monocular_photo.depth_kind == "DEPTH":
        values = 1.0 / np.maximum(values, 1e-6)
    return (values - values.min()) / max(float(np.ptp(values)), 1e-9)


def write_preview(photo_path, shade, moved_render, path, height=240):
    from PIL import Image

    def fit(image):
        return image.convert("RGB").resize((round(image.width * height / image.height), height), Image.LANCZOS)

    panels = [
        fit(Image.fromarray(load_photo(photo_path))),
        fit(Image.fromarray((shade * 255).astype(np.uint8))),
        fit(Image.open(moved_render)),
    ]
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), height), "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + 8
    sheet.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "sample")
    parser.add_argument("--photo", type=Path, help="your own photo instead of the sample (needs the real model)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--width", type=int, default=480, help="render width in pixels")
    args = parser.parse_args()

    photo = args.photo or SAMPLE_DIR / "sample_photo.jpg"
    use_model = args.photo is not None or default_model_available()
    depth_file = None if use_model else SAMPLE_DIR / "sample_depth.npy"
    args.out.mkdir(parents=True, exist_ok=True)

    addon.register()
    try:
        obj = build_scene(photo, depth_file)
        scene = bpy.context.scene
        add_camera_move(obj, args.frames)
        set_width(scene, args.width)
        render_frame(scene, 1, args.out / "render_original.png")
        render_frame(scene, args.frames, args.out / "render_moved.png")
        scene.frame_set(1)
        bpy.ops.wm.save_as_mainfile(filepath=str(args.out / "monocular_photo.blend"))
        write_preview(photo, depth_shade(obj), args.out / "render_moved.png", args.out / "preview.png")
        started = time.perf_counter()
        render_mp4(scene, args.out / "monocular_photo.mp4", overwrite=True)
        print(f"clip rendered in {time.perf_counter() - started:.1f} s")
        write_webp(scene, args.out / "preview.webp", WEBP_WIDTH)
    finally:
        addon.unregister()
    for name in (
        "monocular_photo.blend",
        "render_original.png",
        "render_moved.png",
        "preview.png",
        "monocular_photo.mp4",
        "preview.webp",
    ):
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
