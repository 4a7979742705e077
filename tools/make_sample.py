"""Render the bundled sample photo and its exact depth with a tiny numpy ray caster (no Blender, no model).

The scene is built in the camera's frame (camera at the origin looking down -Z, +Y up: the add-on's frame
convention), so the depth written is exactly the distance along the view axis that the photo shows. This
gives the README's main job and the tests a photo whose true depth is known, on machines where real MiDaS
weights cannot be downloaded.

    python tools/make_sample.py [--out tools/sample] [--width 640] [--height 480]

Writes sample_photo.jpg (with EXIF FocalLengthIn35mmFilm) and sample_depth.npy (float32, metres, row 0 = top).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

FOCAL_35MM = 28.0  # a phone's main camera, in 35 mm-equivalent millimetres
SENSOR_WIDTH = 36.0  # the 35 mm frame's long side
SUPERSAMPLES = 3  # per axis, for the photo only: depth stays a per-pixel-centre exact value

LIGHT_DIR = np.array([-0.4, 0.8, 0.45]) / np.linalg.norm([-0.4, 0.8, 0.45])
SPHERES = (  # centre, radius, albedo
    ((-0.85, -0.45, -3.4), 0.75, (0.85, 0.25, 0.18)),
    ((1.05, -0.65, -5.2), 0.55, (0.2, 0.4, 0.85)),
    ((0.15, -0.85, -2.6), 0.35, (0.95, 0.8, 0.25)),
)
FLOOR_Y = -1.2
WALL_Z = -9.0


def camera_rays(width, height, samples):
    """Unit-z ray directions (x, y, -1) through `samples`² points per pixel, shape (H*s, W*s, 3)."""
    fx = width * FOCAL_35MM / SENSOR_WIDTH
    u = (np.arange(width * samples) + 0.5) / samples
    v = (np.arange(height * samples) + 0.5) / samples
    x = (u - width / 2) / fx
    y = -(v - height / 2) / fx
    xx, yy = np.meshgrid(x, y)
    return np.stack([xx, yy, -np.ones_like(xx)], axis=-1)


def trace(rays):
    """Nearest hit per ray: view-axis depth (the ray's z is -1, so ray parameter t = depth) and colour."""
    shape = rays.shape[:2]
    depth = np.full(shape, np.inf)
    colour = np.zeros((*shape, 3))

    def keep(t, rgb):
        closer = (t > 0) & (t < depth)
        depth[closer] = t[closer]
        colour[closer] = rgb[closer] if rgb.ndim == 3 else rgb

    # Back wall: soft vertical gradient with horizontal stripes.
    t_wall = np.full(shape, -WALL_Z)
    hit_y = rays[..., 1] * t_wall
    stripes = 0.9 + 0.1 * (np.floor(hit_y * 2.0) % 2)
    wall = np.stack([0.55 + 0.1 * hit_y, 0.62 + 0.05 * hit_y, 0.7 + 0.02 * hit_y], axis=-1)
    keep(t_wall, np.clip(wall * stripes[..., None], 0, 1))

    # Floor: checkerboard, darker with distance.
    looks_down = rays[..., 1] < 0
    t_floor = np.full(shape, np.inf)
    t_floor[looks_down] = FLOOR_Y / rays[..., 1][looks_down]
    t_finite = np.where(looks_down, t_floor, 0.0)  # hit coordinates only matter where the floor is hit
    checker = (np.floor(rays[..., 0] * t_finite * 1.5) + np.floor(-t_finite * 1.5)) % 2
    floor_rgb = np.where(checker[..., None] > 0, (0.82, 0.78, 0.7), (0.35, 0.3, 0.28))
    floor_rgb = floor_rgb * (0.55 + 0.45 * LIGHT_DIR[1])
    keep(t_floor, floor_rgb)

    for centre, radius, albedo in SPHERES:
        c = np.array(centre)
        b = rays @ c
        a = np.einsum("...i,...i", rays, rays)
        disc = b * b - a * (c @ c - radius * radius)
        hits = disc > 0
        t = np.full(shape, np.inf)
        t[hits] = (b[hits] - np.sqrt(disc[hits])) / a[hits]
        normal = (rays * np.where(hits, t, 0.0)[..., None] - c) / radius
        lambert = np.clip(normal @ LIGHT_DIR, 0, 1)
        keep(t, np.asarray(albedo) * (0.25 + 0.75 * lambert[..., None]))
    return depth, colour


def render_sample(width, height):
    depth, _ = trace(camera_rays(width, height, 1))
    _, colour = trace(camera_rays(width, height, SUPERSAMPLES))
    colour = colour.reshape(height, SUPERSAMPLES, width, SUPERSAMPLES, 3).mean(axis=(1, 3))
    photo = (np.clip(colour, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)
    return photo, depth.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "sample")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()

    photo, depth = render_sample(args.width, args.height)
    args.out.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0xA405] = int(FOCAL_35MM)  # FocalLengthIn35mmFilm
    Image.fromarray(photo).save(args.out / "sample_photo.jpg", quality=95, exif=exif)
    np.save(args.out / "sample_depth.npy", depth)
    print(
        f"wrote {args.out / 'sample_photo.jpg'} and {args.out / 'sample_depth.npy'} "
        f"({args.width}x{args.height}, depth {depth.min():.2f}..{depth.max():.2f} m)"
    )


if __name__ == "__main__":
    main()
