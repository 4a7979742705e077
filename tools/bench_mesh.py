"""Benchmark: Geometry Nodes evaluation of the photo object against the old modifier stack, in one run.

The old way is a plane subdivided to the same vertex count plus a Displace modifier fed with the same depth
image. Both are timed by re-evaluating the object in the depsgraph (median of several runs); a live-input
change (depth scale) at resolution 512 is timed the same way, including setting the input.

    .venv/bpy52/bin/python tools/bench_mesh.py [--repeats 7]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bpy
import bmesh  # noqa: I001  (bmesh exists only once bpy is imported)
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addon import node_group, photo_object, properties  # noqa: E402
from addon.depth import DepthResult  # noqa: E402

PHOTO_SIZE = (1536, 1024)  # width, height of the synthetic photo and its depth map
LIVE_CHANGE_TARGET_MS = 100.0


def synthetic_depth(width, height):
    """Smooth background with a near block, so that some faces tear as in a real photo."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = 0.3 + 0.2 * np.sin(x / width * 6.0) * np.cos(y / height * 4.0)
    depth[height // 4 : height // 2, width // 3 : width // 2] = 0.9
    return depth.astype(np.float32)


def median_evaluation_ms(obj, repeats, change=None):
    """Median time of re-evaluating `obj`; `change(i)` edits it first (and is timed too) when given."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    depsgraph.update()
    times = []
    for repeat in range(repeats):
        start = time.perf_counter()
        if change is None:
            obj.update_tag()
        else:
            change(repeat)
        depsgraph.update()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def evaluated_vertex_count(obj):
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    return len(evaluated.data.vertices)


def old_stack_object(columns, rows, depth_image):
    """A grid with `columns` x `rows` vertices and UVs, displaced by the depth image (the old way)."""
    mesh = bpy.data.meshes.new("old stack")
    grid = bmesh.new()
    bmesh.ops.create_grid(grid, x_segments=columns - 1, y_segments=rows - 1, size=1.0, calc_uvs=True)
    grid.to_mesh(mesh)
    grid.free()
    texture = bpy.data.textures.new("depth", "IMAGE")
    texture.image = depth_image
    texture.extension = "EXTEND"
    obj = bpy.data.objects.new("old stack", mesh)
    displace = obj.modifiers.new("Displace", "DISPLACE")
    displace.texture = texture
    displace.texture_coords = "UV"
    displace.direction = "Z"
    bpy.context.collection.objects.link(obj)
    return obj


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    bpy.ops.wm.read_factory_settings(use_empty=True)
    for cls in properties.classes:
        bpy.utils.register_class(cls)
    properties.register_object_property()

    width, height = PHOTO_SIZE
    photo_path = Path(tempfile.mkdtemp()) / "photo.png"
    Image.fromarray(np.zeros((height, width, 3), dtype=np.uint8)).save(photo_path)
    depth = DepthResult(depth=synthetic_depth(width, height), kind="INVERSE", model_id="bench",
                        photo_size=PHOTO_SIZE, focal_length_35mm=None)
    settings = photo_object.PhotoObjectSettings(add_camera=False)
    obj = photo_object.create_photo_object(bpy.context, photo_path, depth, settings)
    modifier = photo_object.photo_modifier(obj)

    print(f"Blender {bpy.app.version_string}, {bpy.app.build_platform.decode()}, "
          f"{bpy.context.scene.render.threads} threads, photo {width}x{height}, median of {args.repeats}")
    print(f"{'resolution':>10} {'grid vertices':>14} {'ours vertices':>14} {'ours ms':>9} {'old ms':>9} "
          f"{'ours/old':>9}")
    for resolution in (512, 1024):
        photo_object.set_modifier_inputs(modifier, {node_group.RESOLUTION: resolution})
        columns, rows = resolution, round(resolution * height / width)
        old = old_stack_object(columns, rows, photo_object.depth_image(obj))
        obj.hide_viewport = False
        ours_ms = median_evaluation_ms(obj, args.repeats)
        old_ms = median_evaluation_ms(old, args.repeats)
        print(f"{resolution:>10} {columns * rows:>14} {evaluated_vertex_count(obj):>14} {ours_ms:>9.1f} "
              f"{old_ms:>9.1f} {ours_ms / old_ms:>9.2f}")
        bpy.data.objects.remove(old)

    photo_object.set_modifier_inputs(modifier, {node_group.RESOLUTION: 512})

    def change_depth_scale(repeat):
        photo_object.set_modifier_inputs(modifier, {node_group.DEPTH_SCALE: 1.0 + 0.1 * (repeat % 2 + 1)})

    live_ms = median_evaluation_ms(obj, args.repeats, change_depth_scale)
    verdict = "ok" if live_ms < LIVE_CHANGE_TARGET_MS else "over target"
    print(f"live input change (depth scale) at 512: {live_ms:.1f} ms "
          f"(target < {LIVE_CHANGE_TARGET_MS:.0f} ms: {verdict}; ratio to target {live_ms / LIVE_CHANGE_TARGET_MS:.2f})")


if __name__ == "__main__":
    main()
