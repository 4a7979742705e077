"""Benchmark: novel-view fidelity of the photo object against ground truth, for several ways of building it.

A synthetic scene (tools/synthetic_scene.py: wall, sloped ground, spheres, a box, a thin pole, a ring with
a hole) is traced in numpy from the photo camera, giving the photo (at twice the render size) and its exact
depth, and from the camera moves a "3D zoom" video makes, giving the ground truth. Every variant builds its
object from the photo in Blender and renders the same moves with Cycles on the CPU (emission only, pixel-
centre samples, transparent film so that holes have alpha 0); all are measured in one run:
  PSNR over all pixels (holes count as black), PSNR over the "visible" pixels (those whose true surface
  point the photo camera saw), SSIM (gaussian window, luminance), the share of hole pixels, and the
  reprojection PSNR from the photo camera itself (a check of the camera conversion: ours must reproduce the
  photo there, > 40 dB with exact depth).

Variants are rows of VARIANTS: the builder ("old recipe": an Images-as-Planes style plane at the photo's
median depth, subdivided to one vertex per photo pixel and displaced along the view axis by the exact
depth, as a user of the Subdivide + Displace recipe would, at full relief or tuned down to a tenth of it;
"operator": Add > Mesh > Monocular Photo at one vertex per photo pixel), the depth it is given ("exact":
the metric depth at the photo's resolution; "quarter": that depth box-averaged to 1/4 of it and written as
relative inverse depth in 0..1 with Near/Far the averaged map's own nearest and farthest distances, so that
only the loss of resolution remains) and any further operator properties (refine_edges, background_layer).
A property the operator does not have makes its variant "n/a", except a switch set to False: off is what
an operator without the feature does, so the baseline rows pin off the features that default to on.
The moves are about as large as the camera-move presets at intensity 1 (the nearest point shifts about 4 %
of the frame); the view at the end of each move is measured.

    .venv/bpy52/bin/python tools/bench_views.py [--size 192x144] [--moves dolly-in,orbit]
        [--variants old,exact] [--samples 2] [--save DIR]
"""

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tools"))

import synthetic_scene as synthetic

import addon

PHOTO_SCALE = 2  # the photo has twice the render size, so the render from its camera samples it at corners
QUARTER = 4  # the coarse depth's downsampling factor: what a depth network gives
GT_SAMPLES = 4  # per axis, per render pixel: the photo's 2x2 per photo pixel at PHOTO_SCALE 2

VARIANTS = {  # id: builder kwargs ("builder", "depth", "relief" for the old recipe; the rest: operator properties)
    "old": {"builder": "old recipe", "depth": "exact", "relief": 1.0},
    "old-relief": {"builder": "old recipe", "depth": "exact", "relief": 0.1},
    "exact": {"builder": "operator", "depth": "exact", "background_layer": False},
    "quarter": {"builder": "operator", "depth": "quarter", "refine_edges": False, "background_layer": False},
    "quarter-refined": {"builder": "operator", "depth": "quarter", "refine_edges": True, "background_layer": False},
    "exact-bg": {"builder": "operator", "depth": "exact", "background_layer": True},
    "quarter-refined-bg": {"builder": "operator", "depth": "quarter", "refine_edges": True, "background_layer": True},
}

SUBJECT_DISTANCE = 3.6  # the red sphere: the dolly zoom keeps its size, the orbit turns about this distance


def camera_moves(photo_camera):
    """Name -> camera (pose in the photo camera's frame, focal length) of each move's last frame."""

    def moved(pose, focal=photo_camera.focal_35mm):
        return synthetic.Camera(photo_camera.width, photo_camera.height, focal, pose)

    pivot = np.array([0.0, 0.0, -SUBJECT_DISTANCE])
    orbit = math.radians(3.0)
    dolly_zoom = 0.4  # in, while widening the view to keep the subject's size
    return {
        "dolly-in": moved(synthetic.translation((0.0, 0.0, -0.4))),
        "truck-left": moved(synthetic.translation((-0.12, 0.0, 0.0))),
        "truck-right": moved(synthetic.translation((0.12, 0.0, 0.0))),
        "pedestal": moved(synthetic.translation((0.0, 0.1, 0.0))),
        "orbit": moved(
            synthetic.look_at(pivot + SUBJECT_DISTANCE * np.array([math.sin(orbit), 0, math.cos(orbit)]), pivot)
        ),
        "dolly-zoom": moved(
            synthetic.translation((0.0, 0.0, -dolly_zoom)),
            photo_camera.focal_35mm * (SUBJECT_DISTANCE - dolly_zoom) / SUBJECT_DISTANCE,
        ),
    }


# Metrics: images are float arrays in 0..255.


def psnr(image, truth, mask=None):
    difference = (np.asarray(image, np.float64) - np.asarray(truth, np.float64)) ** 2
    if mask is not None:
        if not mask.any():
            return math.nan
        difference = difference[mask]
    mse = difference.mean()
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def luminance(rgb):
    return np.asarray(rgb, np.float64)[..., :3] @ np.array([0.299, 0.587, 0.114])


def _gaussian_filter(image, sigma=1.5, radius=5):
    """Separable gaussian blur, 'valid' region only (as the reference SSIM implementation)."""
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    rows = sum(tap * image[index : image.shape[0] - 2 * radius + index] for index, tap in enumerate(taps))
    return sum(tap * rows[:, index : image.shape[1] - 2 * radius + index] for index, tap in enumerate(taps))


def ssim(image, truth):
    """Mean SSIM (Wang et al. 2004: 11x11 gaussian window, sigma 1.5, K1 0.01, K2 0.03) of two luminance
    images in 0..255."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = np.asarray(image, np.float64), np.asarray(truth, np.float64)
    mean_x, mean_y = _gaussian_filter(x), _gaussian_filter(y)
    var_x = _gaussian_filter(x * x) - mean_x**2
    var_y = _gaussian_filter(y * y) - mean_y**2
    covariance = _gaussian_filter(x * y) - mean_x * mean_y
    index = ((2 * mean_x * mean_y + c1) * (2 * covariance + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())


def measure(render_rgba, truth_rgb, has_geometry, visible):
    """Metrics of one render (RGBA, straight alpha, 0..255) against the truth (RGB 0..255)."""
    alpha = render_rgba[..., 3:4] / 255.0
    rgb = render_rgba[..., :3] * alpha  # over black: a hole is black
    return {
        "psnr": psnr(rgb, truth_rgb),
        "psnr_visible": psnr(rgb, truth_rgb, visible),
        "ssim": ssim(luminance(rgb), luminance(truth_rgb)),
        "holes": 100.0 * np.mean((alpha[..., 0] < 0.5) & has_geometry),
    }


# Inputs: the photo, its depth files and the ground truth.


def write_inputs(photo_camera, work: Path):
    """The photo (PNG) and the depth files of every depth kind: {depth: operator kwargs}, the exact depth."""
    traced = synthetic.trace(photo_camera, GT_SAMPLES // PHOTO_SCALE)
    photo_path = work / "photo.png"
    Image.fromarray(to_bytes(traced.colour)).save(photo_path)
    depth = traced.depth.astype(np.float32)
    np.save(work / "depth_exact.npy", depth)

    height, width = depth.shape
    coarse = depth.reshape(height // QUARTER, QUARTER, width // QUARTER, QUARTER).mean(axis=(1, 3))
    inverse = 1.0 / coarse
    relative = (inverse - inverse.min()) / (inverse.max() - inverse.min())
    np.save(work / "depth_quarter.npy", relative.astype(np.float32))
    depth_kwargs = {
        "exact": {"depth_filepath": str(work / "depth_exact.npy"), "depth_kind": "DEPTH"},
        "quarter": {
            "depth_filepath": str(work / "depth_quarter.npy"),
            "depth_kind": "INVERSE",
            "near": float(coarse.min()),
            "far": float(coarse.max()),
        },
    }
    return photo_path, depth_kwargs, depth


def to_bytes(colour):
    return (np.clip(colour, 0, 1) * 255 + 0.5).astype(np.uint8)


def ground_truth(camera, photo_camera):
    """(RGB 0..255, has geometry, visible from the photo camera) for one camera."""
    traced = synthetic.trace(camera, GT_SAMPLES)
    has_geometry = np.isfinite(traced.depth)
    visible = has_geometry & synthetic.seen_from(photo_camera, traced.points)
    return to_bytes(traced.colour).astype(np.float64), has_geometry, visible


# Blender side.


class NotAvailable(Exception):
    """The variant needs an operator property this version does not have."""


def operator_options(kwargs):
    """The operator properties of a variant, without those the operator lacks and that are off anyway."""
    available = bpy.ops.mesh.monocular_photo_add.get_rna_type().properties.keys()
    options = {key: value for key, value in kwargs.items() if key not in ("builder", "depth", "relief")}
    lacking = [key for key, value in options.items() if key not in available and value is not False]
    if lacking:
        raise NotAvailable(f"n/a (operator has no {', '.join(lacking)})")
    return {key: value for key, value in options.items() if key in available}


def build_with_operator(photo_path, depth_kwargs, options, resolution):
    before = set(bpy.data.objects)
    result = bpy.ops.mesh.monocular_photo_add(
        filepath=str(photo_path),
        focal_length=synthetic.FOCAL_35MM,
        sensor_width=synthetic.SENSOR_WIDTH,
        resolution=resolution,
        add_camera=False,
        **depth_kwargs,
        **options,
    )
    if result != {"FINISHED"}:
        raise RuntimeError(f"monocular_photo_add returned {result}")
    (obj,) = set(bpy.data.objects) - before
    return obj


def build_old_recipe(photo_path, depth, photo_camera, frame_matrix, relief):
    """Images-as-Planes + Subdivide + Displace: a plane filling the photo camera's view at the photo's median
    depth, one vertex per photo pixel, displaced along the view axis by the exact depth times `relief`
    (Displace modifier, normalised float depth texture), showing the photo unlit. Relief 1 gives true
    parallax but, displacing parallel to the axis instead of along the rays, distorts the view from the photo
    camera; a user who tunes it down until that view looks right gets a flatter card."""
    height, width = depth.shape
    distance = float(np.median(depth))
    half_width = distance * photo_camera.width / 2 / photo_camera.focal_pixels
    half_height = half_width * height / width
    u, v = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    vertices = np.stack([(u * 2 - 1) * half_width, (v * 2 - 1) * half_height, np.zeros_like(u)], -1).reshape(-1, 3)
    corner = (np.arange(height - 1)[:, None] * width + np.arange(width - 1)[None, :]).ravel()
    quads = np.stack([corner, corner + 1, corner + width + 1, corner + width], -1)

    mesh = bpy.data.meshes.new("old recipe")
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(quads.size)
    mesh.loops.foreach_set("vertex_index", quads.astype(np.int32).ravel())
    mesh.polygons.add(len(quads))
    mesh.polygons.foreach_set("loop_start", np.arange(0, quads.size, 4, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(quads), 4, dtype=np.int32))
    uvs = np.stack([u, v], -1).reshape(-1, 2)[quads.ravel()]
    mesh.uv_layers.new(name="UVMap").data.foreach_set("uv", uvs.astype(np.float32).ravel())
    mesh.update()
    mesh.validate()

    # Row 0 of the depth is the photo's top; image rows go bottom-up.
    near, far = float(depth.min()), float(depth.max())
    normalised = ((depth - near) / (far - near))[::-1]
    depth_image = bpy.data.images.new("old recipe depth", width, height, float_buffer=True)
    depth_image.colorspace_settings.name = "Non-Color"
    pixels = np.repeat(normalised[..., None], 4, axis=-1)
    pixels[..., 3] = 1.0
    depth_image.pixels.foreach_set(pixels.astype(np.float32).ravel())
    texture = bpy.data.textures.new("old recipe depth", "IMAGE")
    texture.image = depth_image
    texture.extension = "EXTEND"

    obj = bpy.data.objects.new("old recipe", mesh)
    displace = obj.modifiers.new("Displace", "DISPLACE")
    displace.texture = texture
    displace.texture_coords = "UV"
    displace.direction = "Z"
    displace.mid_level = (distance - near) / (far - near)
    displace.strength = -(far - near) * relief  # deeper is further down -Z, away from the camera
    obj.matrix_world = frame_matrix @ Matrix.Translation((0.0, 0.0, -distance))
    obj.data.materials.append(emission_material(bpy.data.images.load(str(photo_path))))
    bpy.context.collection.objects.link(obj)
    return obj


def emission_material(image):
    material = bpy.data.materials.new("old recipe")
    if material.node_tree is None:  # Blender 4.x
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    texture.extension = "EXTEND"
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs[0], output.inputs["Surface"])
    return material


def configure_render(scene, width, height, samples):
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 0  # emission seen directly: nothing to bounce
    scene.cycles.filter_width = 0.01  # every sample at the pixel centre, as the ground truth's depth and points
    scene.render.film_transparent = True  # holes: alpha 0
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    scene.render.dither_intensity = 0.0
    scene.render.use_persistent_data = True  # the geometry stays while only the camera moves
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.image_settings.color_depth = "8"
    scene.view_settings.view_transform = "Standard"  # the photo is display-referred: no tone mapping
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0


def render(scene, camera_object, camera, frame_matrix, path):
    """Render from `camera` (a pose in the photo camera's frame) and return RGBA 0..255 floats."""
    camera_object.matrix_world = frame_matrix @ Matrix(camera.pose.tolist())
    camera_object.data.lens = camera.focal_35mm
    camera_object.data.sensor_width = synthetic.SENSOR_WIDTH
    camera_object.data.sensor_fit = "AUTO"
    scene.camera = camera_object
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.float64)


def run_bench(size=(192, 144), move_names=None, variant_names=None, samples=2, save_dir=None, log=print):
    """Build, render and measure every variant on every move. Returns {variant: {move: metrics} or "n/a ..."};
    the move "photo camera" is the reprojection. Needs the add-on registered."""
    width, height = size
    photo_camera = synthetic.Camera(width * PHOTO_SCALE, height * PHOTO_SCALE)
    render_camera = photo_camera.resized(width, height)
    moves = camera_moves(render_camera)
    move_names = list(moves) if move_names is None else move_names
    cameras = {"photo camera": render_camera, **{name: moves[name] for name in move_names}}
    variant_names = list(VARIANTS) if variant_names is None else variant_names

    save_dir = Path(save_dir) if save_dir else None
    with tempfile.TemporaryDirectory(prefix="bench_views_") as work:
        return _run_variants(Path(work), size, photo_camera, cameras, variant_names, samples, save_dir, log)


def _run_variants(work, size, photo_camera, cameras, variant_names, samples, save_dir, log):
    width, height = size
    start = time.perf_counter()
    photo_path, depth_kwargs, depth = write_inputs(photo_camera, work)
    truths = {name: ground_truth(camera, photo_camera) for name, camera in cameras.items()}
    log(
        f"scene: photo {photo_camera.width}x{photo_camera.height}, depth {depth.min():.2f}..{depth.max():.2f}, "
        f"ground truth of {len(cameras)} views in {time.perf_counter() - start:.1f} s"
    )
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
        Image.open(photo_path).save(save_dir / "photo.png")
        for name, (truth, _, visible) in truths.items():
            slug = name.replace(" ", "-")
            Image.fromarray(truth.astype(np.uint8)).save(save_dir / f"truth_{slug}.png")
            Image.fromarray((visible * 255).astype(np.uint8)).save(save_dir / f"visible_{slug}.png")

    scene = bpy.context.scene
    configure_render(scene, width, height, samples)
    camera_object = bpy.data.objects.new("bench camera", bpy.data.cameras.new("bench camera"))
    scene.collection.objects.link(camera_object)
    frame_matrix = Matrix.Rotation(math.pi / 2, 4, "X")  # the photo object's, at the origin (checked below)
    results = {}
    for variant in variant_names:
        kwargs = VARIANTS[variant]
        start = time.perf_counter()
        try:
            if kwargs["builder"] == "old recipe":
                obj = build_old_recipe(photo_path, depth, photo_camera, frame_matrix, kwargs["relief"])
            else:
                options = operator_options(kwargs)
                obj = build_with_operator(photo_path, depth_kwargs[kwargs["depth"]], options, photo_camera.width)
                if not np.allclose(np.array(obj.matrix_world), np.array(frame_matrix), atol=1e-6):
                    raise RuntimeError(f"the photo object's matrix is {obj.matrix_world}, not {frame_matrix}")
        except NotAvailable as reason:
            results[variant] = str(reason)
            continue
        built = time.perf_counter()
        results[variant] = {}
        for name, camera in cameras.items():
            slug = name.replace(" ", "-")
            path = (save_dir or work) / f"{variant}_{slug}.png"
            rgba = render(scene, camera_object, camera, frame_matrix, path)
            results[variant][name] = measure(rgba, *truths[name])
        log(f"{variant}: built in {built - start:.1f} s, {len(cameras)} renders in {time.perf_counter() - built:.1f} s")
        mesh = obj.data
        bpy.data.objects.remove(obj)
        if mesh.users == 0:
            bpy.data.meshes.remove(mesh)
    return results


def table(results):
    """The comparison table: per-move rows, a mean row per variant (over the moves, not the photo camera), then
    a summary row per variant (its reprojection PSNR, its means and its largest share of holes)."""
    name_width = max([16] + [len(variant) for variant in results])

    def row(variant, label, metrics):
        return (
            f"{variant:<{name_width}} {label:<13} {metrics['psnr']:8.2f} {metrics['psnr_visible']:8.2f} "
            f"{metrics['ssim']:6.3f} {metrics['holes']:7.2f}"
        )

    header = f"{'variant':<{name_width}} {'move':<13} {'PSNR all':>8} {'PSNR vis':>8} {'SSIM':>6} {'holes %':>7}"
    lines = [header, "-" * len(header)]
    summary_header = (
        f"{'variant':<{name_width}} {'reproj':>8} {'PSNR all':>8} {'PSNR vis':>8} {'SSIM':>6} "
        f"{'holes %':>7} {'max hol':>7}"
    )
    summary = [
        "means over the moves; reproj: PSNR from the photo camera; max hol: the largest holes % of a move",
        summary_header,
        "-" * len(summary_header),
    ]
    for variant, rows in results.items():
        if isinstance(rows, str):
            lines.extend([f"{variant:<{name_width}} {rows}", ""])
            summary.append(f"{variant:<{name_width}} {rows}")
            continue
        lines.extend(row(variant, name, metrics) for name, metrics in rows.items())
        moves = [metrics for name, metrics in rows.items() if name != "photo camera"]
        if moves:
            mean = {key: float(np.mean([metrics[key] for metrics in moves])) for key in moves[0]}
            lines.append(row(variant, "mean", mean))
            summary.append(
                f"{variant:<{name_width}} {rows['photo camera']['psnr']:8.2f} {mean['psnr']:8.2f} "
                f"{mean['psnr_visible']:8.2f} {mean['ssim']:6.3f} {mean['holes']:7.2f} "
                f"{max(metrics['holes'] for metrics in moves):7.2f}"
            )
        lines.append("")
    return "\n".join(lines + summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        default="192x144",
        help=f"render size WxH (the photo is twice as large); both divisible by {QUARTER // PHOTO_SCALE}",
    )
    parser.add_argument("--moves", help=f"comma-separated, of {','.join(camera_moves(synthetic.Camera(4, 3)))}")
    parser.add_argument("--variants", help=f"comma-separated, of {','.join(VARIANTS)}")
    parser.add_argument("--samples", type=int, default=2, help="Cycles samples per pixel")
    parser.add_argument("--save", type=Path, help="write the photo, the truths, the visible masks and the renders here")
    args = parser.parse_args()

    width, height = (int(value) for value in args.size.lower().split("x"))
    moves = args.moves.split(",") if args.moves else None
    variants = args.variants.split(",") if args.variants else None
    known_moves = camera_moves(synthetic.Camera(4, 3))
    for name in moves or ():
        if name not in known_moves:
            parser.error(f"unknown move {name!r}")
    for name in variants or ():
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}")
    if (width * PHOTO_SCALE) % QUARTER or (height * PHOTO_SCALE) % QUARTER:
        parser.error(f"--size must be divisible by {QUARTER // PHOTO_SCALE}")

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    try:
        start = time.perf_counter()
        results = run_bench((width, height), moves, variants, args.samples, args.save)
        print()
        print(table(results))
        print(f"\ntotal {time.perf_counter() - start:.0f} s")
    finally:
        # Blender 4.2 as a Python module crashes at exit while classes are still registered.
        addon.unregister()


if __name__ == "__main__":
    main()
