"""The README's before/after picture: the bundled sample seen from a moved camera, without and with the
background layer, side by side.

    .venv/bpy52/bin/python tools/render_before_after.py [--out tools/sample/before_after.png] [--width 360]

Builds the sample photo object twice from its exact depth (tools/sample/sample_depth.npy, so no model is needed),
once with `background_layer=False` (what a moving camera showed before: black where the photo saw nothing)
and once with the default `background_layer=True`, and renders both from the same camera: the photo's own,
dollied 0.8 m into the scene with a 0.3 m sideways step and a 4 degree turn: the end of tools/run_sample.py's move.
"""

import argparse
import math
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import bpy
from mathutils import Matrix
from PIL import Image, ImageDraw

import addon

SAMPLE_DIR = REPO_ROOT / "tools" / "sample"
DOLLY_IN = 0.5  # metres into the scene
SIDE_STEP = 0.2  # metres sideways, so the parallax shows both ways
TURN_DEGREES = 3.0
GAP = 8  # pixels between the panels


def moved_camera_render(background_layer, width, path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.monocular_photo_add(
        filepath=str(SAMPLE_DIR / "sample_photo.jpg"),
        depth_filepath=str(SAMPLE_DIR / "sample_depth.npy"),
        depth_kind="DEPTH",
        background_layer=background_layer,
    )
    scene = bpy.context.scene
    camera = scene.camera
    camera.matrix_world = (
        camera.matrix_world
        @ Matrix.Translation((SIDE_STEP, 0.0, -DOLLY_IN))
        @ Matrix.Rotation(math.radians(TURN_DEGREES), 4, "Y")
    )
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.cycles.filter_width = 0.5
    aspect = scene.render.resolution_y / scene.render.resolution_x
    scene.render.resolution_x, scene.render.resolution_y = width, round(width * aspect)
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return Image.open(path).convert("RGB")


def side_by_side(before, after, path):
    sheet = Image.new("RGB", (before.width + after.width + GAP, before.height), "white")
    sheet.paste(before, (0, 0))
    sheet.paste(after, (before.width + GAP, 0))
    draw = ImageDraw.Draw(sheet)
    for x, label in ((0, "background layer off"), (before.width + GAP, "background layer on (default)")):
        draw.rectangle((x, 0, x + 6 * len(label) + 8, 14), fill="white")
        draw.text((x + 4, 2), label, fill="black")
    sheet.save(path, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR / "before_after.png")
    parser.add_argument("--width", type=int, default=360, help="width of each panel in pixels")
    args = parser.parse_args()
    addon.register()
    try:
        with tempfile.TemporaryDirectory() as work:
            before = moved_camera_render(False, args.width, Path(work) / "before.png")
            after = moved_camera_render(True, args.width, Path(work) / "after.png")
            side_by_side(before, after, args.out)
    finally:
        addon.unregister()  # Blender 4.2 as a module crashes at exit while classes are still registered
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
