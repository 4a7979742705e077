"""Video render speed and memory: the add-on's settings against Blender's default Cycles settings, same run.

    python tools/bench_video.py [--size 1080x1920] [--frames 1,75,150] [--out out/bench_video] [--skip-memory]

Runs in a Python that has the `bpy` module. Builds the bundled sample (its exact depth), keys the default
Zoom In (5 s at 30 fps) and renders a few frames of the clip at --size twice: with the settings of
`addon.video.configure_render` and with every Cycles setting at Blender's default (4096 adaptive samples,
denoiser, 1.5 px filter, bounces). Prints seconds per frame of each, their ratio and the PSNR between the two
renders of each frame. Then, in a child process of its own, builds the object of a 12 MP photo, renders one
1080x1920 frame with the add-on's settings and prints the process's peak memory (VmHWM).
"""

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # a tool run from a checkout: import the add-on package from source

import bpy
import numpy as np

import addon
from addon.camera_moves import key_camera_move
from addon.video import configure_render, frame_camera, use_full_mesh_resolution

SAMPLE_DIR = REPO_ROOT / "tools" / "sample"
BIG_PHOTO_SIZE = (4000, 3000)  # 12 MP
BIG_DEPTH_SIZE = (1024, 768)  # the size of map the depth engine makes for it


def build(photo, depth, size):
    """A fresh scene with the photo object, its Zoom In and the add-on's render settings at `size`, built as the
    video command line builds it."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth), depth_kind='DEPTH')
    obj = bpy.context.active_object
    use_full_mesh_resolution(obj)
    scene = bpy.context.scene
    scene.camera = key_camera_move(bpy.context, obj, 'ZOOM_IN', duration=5.0, fps=30)
    configure_render(scene, size)
    frame_camera(scene.camera, obj, size)
    scene.render.image_settings.file_format = 'PNG'
    scene.render.image_settings.color_mode = 'RGB'
    return scene


def use_default_cycles(scene):
    """Every Cycles scene setting back to Blender's default (the add-on's output framing and colours kept)."""
    for prop in scene.cycles.bl_rna.properties:
        if prop.identifier != "rna_type":
            scene.cycles.property_unset(prop.identifier)  # Cycles' settings are add-on properties: back to default
    scene.cycles.device = 'CPU'
    scene.render.use_persistent_data = False


def render_frames(scene, frames, folder, label):
    """Render `frames` to PNGs; returns (seconds of each frame, images as float arrays)."""
    seconds, images = [], []
    for frame in frames:
        scene.frame_set(frame)
        path = folder / f"{label}_{frame:04d}.png"
        scene.render.filepath = str(path)
        started = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        seconds.append(time.perf_counter() - started)
        image = bpy.data.images.load(str(path))
        pixels = np.empty(len(image.pixels), dtype=np.float32)
        image.pixels.foreach_get(pixels)
        bpy.data.images.remove(image)
        images.append(pixels)
        print(f"  {label} frame {frame}: {seconds[-1]:.2f} s", flush=True)
    return seconds, images


def psnr(a, b) -> float:
    error = np.mean((a - b) ** 2)
    return float(10 * np.log10(1.0 / max(error, 1e-12)))


def speed(args):
    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    scene = build(SAMPLE_DIR / "sample_photo.jpg", SAMPLE_DIR / "sample_depth.npy", args.size)
    fast_seconds, fast_images = render_frames(scene, args.frames, folder, "addon")
    use_default_cycles(scene)
    default_seconds, default_images = render_frames(scene, args.frames, folder, "default")
    addon.unregister()

    fast, default = np.mean(fast_seconds), np.mean(default_seconds)
    print(
        f"\nsample at {args.size[0]}x{args.size[1]}, frames {args.frames}, CPU shared with other jobs "
        f"(load average {Path('/proc/loadavg').read_text().split()[0] if Path('/proc/loadavg').exists() else '?'})"
    )
    print(f"add-on settings:        {fast:.2f} s/frame  (each: {', '.join(f'{s:.2f}' for s in fast_seconds)})")
    print(f"default Cycles:         {default:.2f} s/frame  (each: {', '.join(f'{s:.2f}' for s in default_seconds)})")
    print(f"ratio add-on / default: {fast / default:.3f}  (target <= 0.1)")
    values = [psnr(a, b) for a, b in zip(fast_images, default_images)]
    print(f"PSNR add-on vs default: {', '.join(f'{v:.1f}' for v in values)} dB  (required >= 38)")


def memory_child(args):
    """Build a 12 MP photo's object and render one frame at --size; print this process's peak memory."""
    from PIL import Image

    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    width, height = BIG_PHOTO_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / width
    rgb = np.stack([np.sin(9 * x), np.cos(7 * y + 2 * x), np.sin(5 * (x + y))], axis=-1)
    photo = folder / "photo_12mp.jpg"
    Image.fromarray(np.round(127.5 + 100 * rgb).astype(np.uint8)).save(photo, quality=90)
    depth = folder / "photo_12mp.npy"
    depth_width, depth_height = BIG_DEPTH_SIZE
    np.save(depth, np.tile(np.linspace(2.0, 9.0, depth_height, dtype=np.float32)[:, None], (1, depth_width)))
    del rgb, x, y
    scene = build(photo, depth, args.size)
    built_mib = peak_rss_mib()
    render_frames(scene, [1], folder, "photo_12mp")
    addon.unregister()
    print(
        f"peak memory (VmHWM) rendering a 12 MP photo's object at {args.size[0]}x{args.size[1]}: "
        f"{peak_rss_mib():.0f} MiB  (required < 2048; {built_mib:.0f} MiB after building it, before rendering)"
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage: ru_maxrss survives exec on Linux, so a child
    started by a parent that rendered at default settings would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_size(text):
    width, height = (int(part) for part in text.lower().split("x"))
    return width, height


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=(1080, 1920))
    parser.add_argument("--frames", type=lambda text: [int(f) for f in text.split(",")], default=[1, 75, 150])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "bench_video")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return
    speed(args)
    if not args.skip_memory:
        size = f"{args.size[0]}x{args.size[1]}"
        subprocess.run([sys.executable, __file__, "--memory-child", "--size", size, "--out", str(args.out)], check=True)


if __name__ == "__main__":
    main()
