"""Edge refinement (addon/depth/refine.py) on synthetic scenes whose exact depth is known: the coarse map a
network gives is the exact depth box-averaged to a quarter of the photo's resolution."""

import numpy as np
import pytest
from PIL import Image

from addon.depth import DepthError
from addon.depth.refine import refine_depth
from tests.tool_scripts import load_tool

WIDTH, HEIGHT = 256, 192
FACTOR = 4
NEAR_COLOUR = np.array([205.0, 150.0, 60.0])
FAR_COLOUR = np.array([40.0, 90.0, 160.0])
SIDE_TOLERANCE = 0.02  # of the 0..1 relative inverse depth: "at one of the sides"


def grid():
    return np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)


def box_average(depth, factor=FACTOR):
    """What a network gives: the exact depth averaged over blocks of factor x factor pixels."""
    height, width = depth.shape
    return depth.reshape(height // factor, factor, width // factor, factor).mean(axis=(1, 3)).astype(np.float32)


def bilinear(depth, width=WIDTH, height=HEIGHT):
    return np.asarray(Image.fromarray(depth).resize((width, height), Image.Resampling.BILINEAR))


def two_layer_scene(near_mask, near=0.8, far=0.2, seed=0):
    """A photo with a near object on a far background (distinct colours, sensor noise) and its exact depth."""
    noise = np.random.default_rng(seed).normal(0.0, 6.0, (HEIGHT, WIDTH, 3))
    photo = np.where(near_mask[:, :, None], NEAR_COLOUR, FAR_COLOUR) + noise
    depth = np.where(near_mask, near, far).astype(np.float32)
    return np.clip(photo, 0, 255).astype(np.uint8), depth


def textured_photo(seed=1):
    y, x = grid()
    noise = np.random.default_rng(seed).normal(0.0, 25.0, (HEIGHT, WIDTH, 3))
    pattern = np.stack([110 + 60 * np.sin(x / 3.0), 120 + 50 * np.cos(y / 2.0), 100 + 40 * np.sin((x + y) / 5.0)], 2)
    return np.clip(pattern + noise, 0, 255).astype(np.uint8)


def in_between_fraction(depth, sides, tolerance=SIDE_TOLERANCE):
    """The fraction of pixels farther than `tolerance` from every one of the depths `sides`."""
    distance = np.min(np.abs(depth[:, :, None] - np.asarray(sides, dtype=np.float32)), axis=2)
    return float(np.mean(distance > tolerance))


def square_mask(left=70, right=181, top=50, bottom=133):
    y, x = grid()
    return (x >= left) & (x < right) & (y >= top) & (y < bottom)


@pytest.mark.parametrize("offset", [0, 1, 2, 3])  # where the edge falls inside a low-resolution pixel
def test_step_edges_take_one_side_and_sit_on_the_photos_edge(offset):
    photo, exact = two_layer_scene(
        square_mask(left=64 + offset, right=180 + offset, top=48 + offset, bottom=132 + offset)
    )
    coarse = box_average(exact)
    refined = refine_depth(photo, coarse)

    assert refined.shape == (HEIGHT, WIDTH) and refined.dtype == np.float32
    assert in_between_fraction(bilinear(coarse), (0.2, 0.8)) > 0.005  # the ramps refinement must remove
    assert in_between_fraction(refined, (0.2, 0.8)) == 0.0
    # Located on the photo's edge: at most a pixel's width off along each edge (a wrong pixel per row at most).
    wrong = np.abs(refined - exact) > SIDE_TOLERANCE
    assert wrong.sum(axis=1).max() <= 2 and wrong.sum(axis=0).max() <= 2
    assert wrong.mean() < 0.002


def test_ring_with_a_hole_shows_the_background_through_it():
    y, x = grid()
    radius = np.hypot(x - 128.3, y - 95.7)
    ring = (radius < 70) & (radius > 38)
    photo, exact = two_layer_scene(ring, near=0.7, far=0.15)
    refined = refine_depth(photo, box_average(exact))

    assert in_between_fraction(refined, (0.15, 0.7)) == 0.0
    assert np.all(np.abs(refined[radius < 34] - 0.15) < SIDE_TOLERANCE)  # the hole is background
    assert np.mean(np.abs(refined - exact) > SIDE_TOLERANCE) < 0.004


@pytest.mark.parametrize(("left", "width"), [(101, 3), (102, 2), (99, 3)])
def test_a_thin_pole_gets_its_own_depth_not_an_in_between_one(left, width):
    _y, x = grid()
    pole = (x >= left) & (x < left + width)
    photo, exact = two_layer_scene(pole, near=0.9, far=0.1)
    coarse = box_average(exact)
    assert coarse.max() < 0.75  # the coarse map holds the pole only diluted
    refined = refine_depth(photo, coarse)

    assert in_between_fraction(refined, (0.1, 0.9)) == 0.0
    assert np.all(np.abs(refined[pole] - 0.9) < SIDE_TOLERANCE)
    assert np.all(np.abs(refined[~pole] - 0.1) < SIDE_TOLERANCE)


def test_a_slanted_plane_with_texture_stays_smooth():
    y, x = grid()
    # A floor: affine in inverse depth, steep towards the bottom of the photo.
    exact = (0.05 + 0.9 * y / HEIGHT + 0.1 * x / WIDTH).astype(np.float32)
    coarse = box_average(exact)
    refined = refine_depth(textured_photo(), coarse)

    # No terraces and no edges from the texture: the refined map is the bilinear one, steps no larger than
    # the slope's own.
    np.testing.assert_allclose(refined, bilinear(coarse), atol=1e-6)
    assert np.abs(np.diff(refined, axis=0)).max() < 2 * 0.9 / HEIGHT
    assert np.abs(np.diff(refined, axis=1)).max() < 2 * 0.1 / WIDTH


def test_a_step_on_a_slope_snaps_to_the_slope_on_both_sides():
    y, _x = grid()
    floor = (0.1 + 0.5 * y / HEIGHT).astype(np.float32)
    mask = square_mask(left=66, right=170, top=46, bottom=130)
    exact = np.where(mask, 0.9, floor).astype(np.float32)
    photo = np.where(mask[:, :, None], NEAR_COLOUR.astype(np.uint8), textured_photo())
    refined = refine_depth(photo, box_average(exact))

    # Each pixel on the square or on the floor, never halfway to the other side. A snapped floor pixel takes
    # the floor's depth a coarse pixel or two away (the side's extreme), so it is off by that much slope.
    to_a_side = np.minimum(np.abs(refined - floor), np.abs(refined - 0.9))
    assert to_a_side.max() < 0.08
    slope_per_coarse_pixel = 0.5 / HEIGHT * FACTOR
    assert np.mean(np.abs(refined - exact) > 3 * slope_per_coarse_pixel) < 0.005
    assert np.mean(np.abs(refined - exact) > 0.3) < 0.0005  # the wrong side: a pixel of the edge at most


def near_silhouettes(depth, reach=2, tear=1.1):
    """Pixels within `reach` of one whose neighbour is farther by more than the mesh's tearing ratio."""
    padded = np.pad(depth, 1, mode="edge")
    height, width = depth.shape
    ratio = np.ones_like(depth)
    for dy in range(3):
        for dx in range(3):
            neighbour = padded[dy : dy + height, dx : dx + width]
            ratio = np.maximum(ratio, np.maximum(neighbour / depth, depth / neighbour))
    near = ratio > tear
    for _ in range(reach):
        padded = np.pad(near, 1)
        near = near | padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    return near


def test_the_novel_view_scene_gets_the_surfaces_depth_up_to_its_silhouettes():
    """The scene of tools/bench_views.py (spheres, a box, a pole and a ring before a wall, on a floor sloping
    towards the horizon), its exact distance box-averaged to a quarter and given as relative inverse depth
    in 0..1, as the bench does. Refinement must leave no block of wrong depth next to a silhouette: a side's
    surface continued, not a constant, so no surface pixel away from a silhouette is off by the mesh's
    tearing ratio (a false tear), and the floor there stays within 2 %."""
    synthetic = load_tool("synthetic_scene")
    traced = synthetic.trace(synthetic.Camera(384, 288), 2)
    photo = (np.clip(traced.colour, 0, 1) * 255 + 0.5).astype(np.uint8)
    exact = traced.depth.astype(np.float32)
    inverse = 1.0 / box_average(exact)
    nearest, farthest = inverse.max(), inverse.min()
    relative = ((inverse - farthest) / (nearest - farthest)).astype(np.float32)

    def error(relative_map):
        return np.abs(1.0 / (farthest + relative_map * (nearest - farthest)) - exact) / exact

    refined = error(refine_depth(photo, relative))
    upsampled = error(bilinear(relative, *exact.shape[::-1]))
    away = ~near_silhouettes(exact)
    floor = away & (traced.object_id == 1)
    assert np.mean(upsampled > 0.02) > 0.05  # the silhouettes' ramps that refinement must remove
    assert np.mean(refined > 0.02) < 0.25 * np.mean(upsampled > 0.02)
    assert refined[away].max() < 0.1
    assert np.mean(refined[floor] > 0.02) < 0.005 and refined[floor].max() < 0.07


def test_metric_depth_is_refined_in_inverse_depth_and_returned_as_distance():
    near_mask = square_mask()
    photo, inverse = two_layer_scene(near_mask, near=0.5, far=0.125)  # 2 m in front of 8 m
    coarse = box_average(1.0 / inverse)  # a metric network averages distances
    refined = refine_depth(photo, coarse, kind="DEPTH")

    assert np.all(np.isfinite(refined))
    distance = np.min(np.abs(refined[:, :, None] - np.array([2.0, 8.0])) / np.array([2.0, 8.0]), axis=2)
    assert np.mean(distance > 0.05) < 0.002
    assert np.mean(np.abs(refined - 1.0 / inverse) > 0.05 * refined) < 0.004


def test_another_aspect_is_resampled_to_the_photo():
    photo, exact = two_layer_scene(square_mask())
    square_map = np.asarray(Image.fromarray(exact).resize((64, 64), Image.Resampling.BOX))
    refined = refine_depth(photo, square_map)
    assert refined.shape == (HEIGHT, WIDTH)
    assert in_between_fraction(refined, (0.2, 0.8)) == 0.0
    assert np.mean(np.abs(refined - exact) > SIDE_TOLERANCE) < 0.004


@pytest.mark.parametrize("depth", [np.full((1, 1), 0.4), np.full((48, 64), 0.4), np.full((2, 3), 0.4)])
def test_a_constant_or_tiny_map_gives_a_constant_map(depth):
    photo, _ = two_layer_scene(square_mask())
    refined = refine_depth(photo, depth.astype(np.float32))
    assert refined.shape == (HEIGHT, WIDTH)
    np.testing.assert_allclose(refined, 0.4, atol=1e-6)


@pytest.mark.parametrize("kind", ["INVERSE", "DEPTH"])
def test_non_finite_pixels_never_give_nan(kind):
    photo, exact = two_layer_scene(square_mask())
    coarse = box_average(exact if kind == "INVERSE" else 1.0 / exact)
    coarse[3, 5], coarse[20, 30], coarse[10, 10] = np.nan, np.inf, -np.inf
    if kind == "DEPTH":
        coarse[11, 11] = 0.0  # a distance of 0 has no inverse
    refined = refine_depth(photo, coarse, kind=kind)
    assert np.all(np.isfinite(refined))
    if kind == "DEPTH":
        assert refined.min() > 0


def test_a_map_without_any_usable_value_is_a_clear_error():
    photo, _ = two_layer_scene(square_mask())
    with pytest.raises(DepthError, match="no usable value"):
        refine_depth(photo, np.full((48, 64), np.nan, dtype=np.float32))


def test_alpha_and_16_bit_photos_refine_like_their_8_bit_colours():
    photo, exact = two_layer_scene(square_mask())
    coarse = box_average(exact)
    expected = refine_depth(photo, coarse)
    with_alpha = np.concatenate([photo, np.zeros((HEIGHT, WIDTH, 1), np.uint8)], axis=2)
    np.testing.assert_array_equal(refine_depth(with_alpha, coarse), expected)
    sixteen_bit = photo.astype(np.uint16) * 257
    np.testing.assert_array_equal(refine_depth(sixteen_bit, coarse), expected)
    np.testing.assert_array_equal(refine_depth(photo / 255.0, coarse), expected)


def test_a_photo_that_is_not_an_image_array_is_a_clear_error():
    with pytest.raises(DepthError, match="HxWx3"):
        refine_depth(np.zeros((4, 4, 7), np.uint8), np.zeros((2, 2), np.float32))
