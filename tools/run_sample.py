"""The README's main job: one photo → a 3D scene, saved as a .blend with renders, in one command.

    python tools/run_sample.py [--out out/sample] [--photo PATH] [--frames 48]

Runs in a Python that has the `bpy` module (tools/run_sample.sh sets one up). With no --photo it uses the
bundled sample (tools/sample/, made by tools/make_sample.py): when the real default model is installed in
onnx_models/ with a matching hash it runs the model, otherwise it uses the sample's exact depth, so the job
works offline. It writes into --out:
  monocular_photo.blend   the scene: photo object, its camera, and a "3D zoom" camera move on frames 1..N
  render_original.png     a render from the photo's own camera (it reproduces the photo)
  render_moved.png        the last frame of the camera move (the parallax the depth gives)
  preview.png             photo | depth | moved render, side by side (the README's picture)
"""

import argparse
import math
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # a tool run from a checkout: import the add-on package from source

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Matrix  # noqa: E402

import addon  # noqa: E402
from addon.depth import load_photo, models  # noqa: E402
from addon.photo_object import depth_image, image_pixels  # noqa: E402

SAMPLE_DIR = REPO_ROOT / "tools" / "sample"
DOLLY_IN = 0.8  # metres the camera travels into the scene over the move
SIDE_STEP = 0.3  # metres of sideways drift, so the parallax shows both ways


def default_model_available():
    spec = models.get_model(models.DEFAULT_MODEL_ID)
    return spec.find_file(()) is not None


def build_scene(photo, depth_file):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    kwargs = dict(filepath=str(photo), add_camera=True)
    if depth_file is not None:
        kwargs.update(depth_filepath=str(depth_file), depth_kind="DEPTH")
    started = time.perf_counter()
    bpy.ops.mesh.monocular_photo_add(**kwargs)
    print(f"photo object built in {time.perf_counter() - started:.2f} s "
          f"({'exact sample depth' if depth_file else 'model ' + models.DEFAULT_MODEL_ID})")
    return bpy.context.active_object


def add_camera_move(scene, frames):
    """Keyframe the "3D zoom": dolly into the scene with a little sideways drift."""
    camera = scene.camera
    start = camera.matrix_world.copy()
    scene.frame_start, scene.frame_end = 1, frames
    camera.keyframe_insert("location", frame=1)
    camera.matrix_world = start @ Matrix.Translation((SIDE_STEP, 0.0, -DOLLY_IN)) @ Matrix.Rotation(
        math.radians(4.0), 4, "Y")
    camera.keyframe_insert("location", frame=frames)
    camera.keyframe_insert("rotation_euler", frame=frames)
    camera.matrix_world = start
    camera.keyframe_insert("rotation_euler", frame=1)


def configure_render(scene, width):
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.cycles.filter_width = 0.5
    aspect = scene.render.resolution_y / scene.render.resolution_x
    scene.render.resolution_x, scene.render.resolution_y = width, round(width * aspect)
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"


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

    panels = [fit(Image.fromarray(load_photo(photo_path))),
              fit(Image.fromarray((shade * 255).astype(np.uint8))),
              fit(Image.open(moved_render))]
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
        add_camera_move(scene, args.frames)
        configure_render(scene, args.width)
        render_frame(scene, 1, args.out / "render_original.png")
        render_frame(scene, args.frames, args.out / "render_moved.png")
        scene.frame_set(1)
        bpy.ops.wm.save_as_mainfile(filepath=str(args.out / "monocular_photo.blend"))
        write_preview(photo, depth_shade(obj), args.out / "render_moved.png", args.out / "preview.png")
    finally:
        addon.unregister()
    for name in ("monocular_photo.blend", "render_original.png", "render_moved.png", "preview.png"):
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
