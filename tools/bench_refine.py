"""Quality and speed of edge refinement (addon/depth/refine.py) against bilinear upsampling, in one run.

    python tools/bench_refine.py [--size 1024x768] [--factor 4] [--repeats 5]

Synthetic scenes with exact depth (relative inverse depth, 0..1): a square in front of a background, a 3 px
pole, a ring with a hole, a textured slanted floor, a square on that floor. The coarse map is the exact depth
box-averaged over factor x factor pixels (what a network at 1/factor resolution gives at best), and "blurred"
adds a 3x3 blur of that coarse map (a network's softer edges). Per scene and method: the share of pixels at an
in-between depth (farther than 0.02 from every true depth of the scene, two-layer scenes only), the share
more than 0.02 off the exact depth, the largest step between neighbouring pixels (slopes: a terrace or a false
edge would raise it), and the median refinement time.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from addon.depth.refine import refine_depth

NEAR_COLOUR = np.array([205.0, 150.0, 60.0])
FAR_COLOUR = np.array([40.0, 90.0, 160.0])
TOLERANCE = 0.02


def scenes(width, height):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)

    def two_layer(mask, near, far):
        photo = np.where(mask[:, :, None], NEAR_COLOUR, FAR_COLOUR) + rng.normal(0, 6, (height, width, 3))
        return np.clip(photo, 0, 255).astype(np.uint8), np.where(mask, near, far).astype(np.float32), (near, far)

    texture = np.stack([110 + 60 * np.sin(x / 7), 120 + 50 * np.cos(y / 5), 100 + 40 * np.sin((x + y) / 11)], 2)
    texture = np.clip(texture + rng.normal(0, 20, texture.shape), 0, 255).astype(np.uint8)
    floor = (0.1 + 0.6 * y / height + 0.05 * x / width).astype(np.float32)
    square = (np.abs(x - width * 0.45) < width * 0.15) & (np.abs(y - height * 0.5) < height * 0.16)
    radius = np.hypot(x - width * 0.6, y - height * 0.5)
    yield "square", *two_layer(square, 0.8, 0.2)
    yield "pole 3 px", *two_layer((x >= width // 2 + 1) & (x < width // 2 + 4), 0.9, 0.1)
    yield "ring with a hole", *two_layer((radius < height * 0.2) & (radius > height * 0.13), 0.7, 0.15)
    yield "textured slope", texture, floor, None
    yield (
        "square on the slope",
        np.where(square[:, :, None], NEAR_COLOUR.astype(np.uint8), texture),
        np.where(square, 0.9, floor).astype(np.float32),
        None,
    )


def coarse_maps(exact, factor):
    height, width = exact.shape
    box = exact.reshape(height // factor, factor, width // factor, factor).mean(axis=(1, 3))
    padded = np.pad(box, 1, mode="edge")
    blurred = sum(padded[dy : dy + box.shape[0], dx : dx + box.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return {"box": box.astype(np.float32), "blurred": blurred.astype(np.float32)}


def measures(depth, exact, sides):
    in_between = "-"
    if sides is not None:
        off = np.min(np.abs(depth[:, :, None] - np.array(sides, np.float32)), axis=2)
        in_between = f"{np.mean(off > TOLERANCE):.3%}"
    wrong = np.mean(np.abs(depth - exact) > TOLERANCE)
    step = max(np.abs(np.diff(depth, axis=0)).max(), np.abs(np.diff(depth, axis=1)).max())
    return in_between, f"{wrong:.3%}", f"{step:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    print(f"Edge refinement vs bilinear, {width}x{height} photos, maps at 1/{args.factor} resolution")
    print(f"{'scene':<22}{'map':<9}{'method':<10}{'in-between':>11}{'off > 0.02':>12}{'max step':>10}{'time':>10}")
    for name, photo, exact, sides in scenes(width, height):
        for kind, coarse in coarse_maps(exact, args.factor).items():
            bilinear = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR))
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                refined = refine_depth(photo, coarse)
                times.append(time.perf_counter() - start)
            for method, depth, elapsed in (
                ("bilinear", bilinear, ""),
                ("refined", refined, f"{statistics.median(times) * 1000:.1f} ms"),
            ):
                print(
                    f"{name:<22}{kind:<9}{method:<10}"
                    + "".join(
                        f"{value:>{w}}" for value, w in zip((*measures(depth, exact, sides), elapsed), (11, 12, 10, 10))
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
