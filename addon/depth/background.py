"""The background layer: what a moving camera reveals behind foreground edges and beyond the photo's frame.

`build_background_layer(photo, depth, kind)` returns a `BackgroundLayer`: a depth image, a colour image and a
reach image (where the layer has geometry) over the EXTENDED frame, the photo's frame plus a margin beyond
each side. Plain arrays in and out, numpy only; the Blender side stores the images and draws the layer with
Geometry Nodes.

Pixel geometry (row 0 at the top, like `DepthResult.depth`). For a photo grid of H x W pixels and a margin m,
`pad_x = ceil(m W)` and `pad_y = ceil(m H)` whole pixels are added on each side: the extended grid is
(H + 2 pad_y) x (W + 2 pad_x) with the same pixel pitch, and photo pixel (row i, column j) is extended pixel
(i + pad_y, j + pad_x) exactly. In photo coordinates u, v (0..1 across the photo frame, either origin), the
extended image's coordinates are u' = (u W + pad_x) / (W + 2 pad_x), v' = (v H + pad_y) / (H + 2 pad_y), so
the extended image spans the frame scaled by (1 + 2 pad_x / W, 1 + 2 pad_y / H) about its centre. The
effective margins pad_x / W and pad_y / H are at least m (equal up to rounding to whole pixels).

Tear criterion. The node group tears a face when its farthest corner is more than (1 + threshold) times its
nearest. Distance ratios equal inverse-depth ratios, so everything here works on an inverse depth q = 1/z:
for kind "DEPTH", q = 1 / depth; for kind "INVERSE" (relative 0..1, the distance depends on the live Near/Far)
the reference mapping q = 1/far + d (1/near - 1/far) with the node group's defaults near = 1, far = 10 (the
`near_far` argument), which gives sensible edges for the usual settings; a larger Far tears more of the
background's small steps, which then have no band (the front layer still covers them from the photo camera).

Which pixels are background. A "jump" is a pair of 8-neighbours whose inverse depths differ by more than the
tear ratio: the smaller is a far-side edge pixel. Within a search radius of a far-side edge pixel, every pixel
more than the tear ratio nearer than the farthest edge pixel around it is "near side" (under the
foreground). Near-side pixels are never sources of the depth fill; all other valid photo pixels are. The
search radius is four times the band's widest width, so that the foreground interior (which still counts as
a source: it may be someone's background) lies much farther from any band pixel than the background does.

Depth fill under the foreground: first-order pull-push in inverse-depth space. One background-weighted
pyramid ("pull-push", Gortler et al. 1996) averages, for every pixel, the nearby sources' positions p̄,
inverse depths q̄ and (a second pyramid) their inverse-depth gradients g; the fill is q̄ + g · (p - p̄).
Inverse depth is affine in image coordinates on a plane, so this reproduces planes exactly (walls stay
planes, floors keep their slope), and only sources contribute, so the fill is never pulled toward the
foreground. It is clamped to a plausible range (at most 1.5x nearer in inverse depth than the nearest source;
for "INVERSE" never beyond d = 0 or 1, for "DEPTH" at most twice the farthest distance), and on the band it
is behind the photo's own surface by construction.

Colour fill under the foreground: a shifted copy of the background, background only. The colour sources are
the photo's pixels that are neither in the band nor the foreground proper and lie more than COLOUR_RIM pixels
from any other pixel: a silhouette is antialiased, so the background pixels along it are part foreground
colour, and copied into the band they would draw a ghost of the silhouette. The foreground proper is grown
from the jumps' near side, carrying the far side's inverse depth, into the pixels in front of it (never across
a jump): a floor running toward the camera beside an object is near side (in front of the wall behind the
object's top) but not foreground, as it lies beyond the object's far-side edge, and where the object stands on
the floor its bottom is not in front of the floor behind its sides; so the floor's colour fills the band
behind the object's lower part. A pixel to fill copies the colour source at an offset just beyond its band's
width (a translation, a "shift map": textures and stripes continue unreflected), sideways first (camera moves
mostly reveal the sides of objects, and horizontal structures such as a horizon, floor rows or wall courses
stay straight), else along the direction away from the foreground (toward the centre p̄ of the sources that
fill it), at 1, 1.5, 2 or 3 times the offset, the first that lands on a source whose inverse depth is within
the tear ratio of the layer's there (a floor's colour is not copied onto the wall behind); else its mirror
image through p̄ (2 p̄ - p); else the sources' pull-push low-pass. Near the silhouette (out to SEAM_REACH of
the band) the copy's low frequencies are moved toward the low-pass of the sources around the pixel, so that
the copy joins the background there without a step in brightness. Never a foreground colour; a few array
operations, no search. An exemplar search (PatchMatch) or an inpainting network would choose the copies better
and are the upgrades.

Beyond the frame (border extension) the photo's surface continues, whatever touches the border, foreground
included (the front layer stops at the frame; the scene does not). Depth: each row, then each column, is
extended linearly in inverse depth with the slope of its last 8 pixels when they hold no tear-sized step
(exact for planes; a floor keeps its slope), constantly otherwise (a jump at the border stays a clean jump,
never an in-between depth), within 1.5x of the border pixel's inverse depth (a curved surface's slope would
run away). Colour: the photo mirrored at its border, else shifted outward by the margin (a translation),
whichever first has an inverse depth within 1.5x of the extended surface's (floors and walls keep their
texture) and is not the foreground proper or its band (grown by 2 pixels) unless the border pixel it
continues is (an object cut by the frame continues; one standing inside it is not copied onto the floor
beside it); the border pixel's colour streaked outward where neither is.

Band, reach and coverage. A near-side pixel is in the band when its filled background is behind it by the
tear ratio, and it lies within w = clip(max_shift * L * (1 - q_background / q_pixel), 2, max_shift * L) pixels
(Chebyshev distance d) of a far-side edge pixel: the parallax a camera move that shifts the nearest point by
`max_shift` of the photo's longer side L opens between the two depths. `reach` = d / w on the band lets a live
input shorten it without refilling. The layer also has geometry (reach 0) on the far side's one-pixel rim
along the band (so its faces meet the far side under the front layer's torn patches), on the photo's
one-pixel border ring (so the margin joins the frame without a crack) and everywhere beyond the frame.
A photo without depth edges has an empty band; without a margin too, the layer is the photo itself (no fill).
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import DepthError

# The most margin the layer is built with (fraction of the frame's size beyond each side); the node group's
# live margin can show less.
MAX_MARGIN = 0.2
# The largest supported camera move, as the shift of the nearest point in fractions of the photo's longer side
# (the camera-move presets' intensity 1 shifts it about 4 %).
MAX_SHIFT = 0.06
TEAR_THRESHOLD = 0.1
REFERENCE_NEAR_FAR = (1.0, 10.0)
KINDS = ("INVERSE", "DEPTH")
# How far (in band widths) the near side is looked for around a far-side edge pixel.
NEAR_SIDE_SEARCH_IN_BAND_WIDTHS = 4
MIN_BAND_WIDTH = 2
# The fill may be at most this much nearer (in inverse depth) than the nearest source pixel, and the surface
# beyond the frame at most this much nearer or farther than the frame's border pixel it continues.
PLAUSIBLE_NEARER = 1.5
# Pixels at the frame's border whose slope continues beyond it.
SLOPE_SPAN = 8
# Background pixels this close to the foreground are no colour sources (antialiased: part foreground colour).
COLOUR_RIM = 2
# The fill's low frequencies come from a pull-push low-pass of about 2^levels pixels.
COLOUR_SMOOTH_LEVELS = 2
# The copy's low frequencies join the surroundings' from the silhouette out to this fraction of the band.
SEAM_REACH = 0.5
# Where the shifted copy is tried, in multiples of its offset (see _fill_colour).
COPY_OFFSET_FACTORS = (1.0, 1.5, 2.0, 3.0)
# `BackgroundLayer.reach` where the layer has no geometry at any reach.
NO_GEOMETRY = 2.0


@dataclass(frozen=True)
class BackgroundLayer:
    """The background layer over the extended frame (see the module docstring for the pixel geometry).

    `depth`: float32 (He, We), the same kind and units as the input depth, finite everywhere (filled even where
    there is no geometry, so bilinear sampling near the coverage's edge stays sensible). `colour`: uint8
    (He, We, 3), sRGB like the photo. `reach`: float32 (He, We), the smallest reach, as a fraction of the band's
    full width, at which the pixel has geometry: d / w on the band (d its Chebyshev distance to the far side,
    w the band's width there, so 0 < reach <= 1), 0 beyond the frame, on the photo's border ring and on the far
    side's one-pixel rim along the band, NO_GEOMETRY (2) elsewhere. A live "reach" input r in 0..1 keeps the
    pixels with reach <= r; `coverage` is reach <= 1. `band`: bool (H, W) on the photo grid, the pixels behind
    foreground silhouettes (empty for a photo without depth edges).
    """

    depth: np.ndarray
    colour: np.ndarray
    reach: np.ndarray
    band: np.ndarray
    kind: str
    margin: float  # the margin asked for
    pad: tuple[int, int]  # (pad_x, pad_y): whole pixels added left/right and top/bottom

    @property
    def coverage(self) -> np.ndarray:
        """bool (He, We): where the layer has geometry at full reach."""
        return self.reach <= 1.0

    @property
    def photo_slice(self) -> tuple[slice, slice]:
        """Index of the photo's own pixels in the extended arrays: `layer.depth[layer.photo_slice]`."""
        pad_x, pad_y = self.pad
        height, width = self.band.shape
        return slice(pad_y, pad_y + height), slice(pad_x, pad_x + width)

    def extended_uv(self, u: float, v: float) -> tuple[float, float]:
        """The extended image's coordinates (0..1) of photo coordinates (u, v) (0..1, either origin)."""
        pad_x, pad_y = self.pad
        height, width = self.band.shape
        return (u * width + pad_x) / (width + 2 * pad_x), (v * height + pad_y) / (height + 2 * pad_y)


def blender_depth_pixels(layer: BackgroundLayer) -> np.ndarray:
    """float32 (He, We, 4) for one float Blender image: R = depth, G = reach, B = 0, A = 1, row 0 at the BOTTOM
    like Blender images (`image.pixels.foreach_set(pixels.ravel())`). Alpha stays 1 so that no alpha mode
    premultiplies the data."""
    pixels = np.zeros((*layer.depth.shape, 4), dtype=np.float32)
    pixels[..., 0], pixels[..., 1], pixels[..., 3] = layer.depth, layer.reach, 1.0
    return pixels[::-1]


def margin_pixels(size: tuple[int, int], margin: float) -> tuple[int, int]:
    """(pad_x, pad_y) for a photo grid of `size` = (width, height)."""
    width, height = size
    return math.ceil(margin * width - 1e-9), math.ceil(margin * height - 1e-9)


def build_background_layer(
    photo: np.ndarray,
    depth: np.ndarray,
    kind: str,
    *,
    margin: float = MAX_MARGIN,
    max_shift: float = MAX_SHIFT,
    tear_threshold: float = TEAR_THRESHOLD,
    near_far: tuple[float, float] = REFERENCE_NEAR_FAR,
) -> BackgroundLayer:
    """The background layer of `photo` (HxWx3 uint8; an alpha channel is dropped) and its `depth` (HxW, kind
    "INVERSE" or "DEPTH" as in `DepthResult`). Non-finite depth pixels (and, for "DEPTH", non-positive ones)
    are treated as unknown and filled; a map with no usable pixel is refused with a `DepthError`."""
    photo, inverse, valid = _checked_inputs(photo, depth, kind, margin, max_shift, tear_threshold, near_far)
    height, width = inverse.shape
    ratio = 1.0 + tear_threshold
    band_width = max(float(MIN_BAND_WIDTH), max_shift * max(width, height))

    far_edge, near_edge, edge_reference = _edge_pixels(inverse, valid, ratio)
    near_side = foreground = np.zeros_like(valid)
    if far_edge.any():
        search_radius = math.ceil(NEAR_SIDE_SEARCH_IN_BAND_WIDTHS * band_width)
        edge_inverse = np.where(far_edge, inverse, np.inf).astype(np.float32)
        near_side = valid & (inverse > ratio * _window_min(edge_inverse, search_radius))
        # The foreground proper, for the colour fill: grown from the jumps' near side, carrying the far side's
        # inverse depth, into what is in front of it, never across a jump. A floor running toward the camera
        # beside an object is near side (in front of the wall behind the object's top) but not foreground: it
        # lies beyond the object's far-side edge, and where the object stands on it the object's bottom is not
        # in front of the floor behind its sides.
        foreground = _grow_foreground(near_edge & near_side, edge_reference, inverse, near_side, ratio, search_radius)
    sources = valid & ~near_side

    band = np.zeros_like(valid)
    band_reach = np.zeros(valid.shape, dtype=np.float32)
    # How far the colour fill copies from (see _fill_colour): just beyond the band and the sources' rim.
    copy_offsets = np.full(valid.shape, float(COLOUR_RIM + 2), dtype=np.float32)
    seam_weights = np.ones(valid.shape, dtype=np.float32)
    layer_inverse, layer_colour, background = inverse, photo, sources
    low, high = _plausible_range(inverse[sources], kind, near_far)
    if not sources.all():
        filled_inverse = np.clip(_fill_inverse_depth(inverse, sources), low, high)
        if near_side.any():
            in_front = near_side & (inverse > ratio * filled_inverse)
            pixels = np.nonzero(in_front)
            widths = np.clip(band_width * (1.0 - filled_inverse[pixels] / inverse[pixels]), MIN_BAND_WIDTH, band_width)
            far_edge_table = _summed_area(far_edge)
            in_band = _within_distance(far_edge_table, pixels, np.floor(widths).astype(np.int64))
            pixels, widths = tuple(index[in_band] for index in pixels), widths[in_band]
            band[pixels] = True
            band_reach[pixels] = _distance(far_edge_table, pixels, np.floor(widths).astype(np.int64)) / widths
            copy_offsets[pixels] = np.floor(widths) + COLOUR_RIM + 1
            seam_weights[pixels] = np.clip(1.0 - band_reach[pixels] / SEAM_REACH, 0.0, 1.0)
            # Near-side pixels that are not in front of the continued background (a slope rising within the
            # search radius) are background after all: they keep their own depth and their colours may fill.
            background = valid & ~in_front
        layer_inverse = np.where(background, inverse, filled_inverse)
        layer_colour = _fill_colour(
            photo,
            background,
            band,
            valid & ~band & ~foreground,
            copy_offsets,
            seam_weights,
            inverse,
            layer_inverse,
            ratio,
        )

    # Beyond the frame the photo's surface continues, whatever touches the border (unknown pixels filled).
    pad_x, pad_y = margin_pixels((width, height), margin)
    inside = (slice(pad_y, pad_y + height), slice(pad_x, pad_x + width))
    front_inverse = np.where(valid, inverse, layer_inverse)
    extended_inverse = np.clip(
        _extend(_extend(front_inverse, pad_y, ratio, 0), pad_x, ratio, 1),
        *_plausible_range(inverse[valid], kind, near_far),
    )
    extended_inverse[inside] = layer_inverse
    extended_colour = _extend_colour(
        photo, front_inverse, extended_inverse, (pad_x, pad_y), _grow(_grow(foreground | band))
    )
    extended_colour[inside] = layer_colour

    # Beyond the frame, on the photo's border ring and on the far side's rim along the band: reach 0.
    reach = np.zeros(extended_inverse.shape, dtype=np.float32)
    rim = (_grow(band) & background & ~band) | _border_ring(band.shape)
    reach[inside] = np.where(band, band_reach, np.where(rim, 0.0, NO_GEOMETRY))
    return BackgroundLayer(
        depth=depth_of_kind(extended_inverse, kind, near_far),
        colour=extended_colour,
        reach=reach,
        band=band,
        kind=kind,
        margin=float(margin),
        pad=(pad_x, pad_y),
    )


def _checked_inputs(photo, depth, kind, margin, max_shift, tear_threshold, near_far):
    """(photo HxWx3 uint8, inverse depth float32 with 0 where unknown, valid mask)."""
    if kind not in KINDS:
        raise DepthError(f'The depth kind must be one of {", ".join(KINDS)}, not "{kind}".')
    photo = np.asarray(photo)
    depth = np.asarray(depth)
    if photo.ndim != 3 or photo.shape[2] not in (3, 4) or photo.dtype != np.uint8:
        raise DepthError(f"The photo must be an HxWx3 (or HxWx4) uint8 array, not {photo.shape} {photo.dtype}.")
    if depth.ndim != 2 or depth.shape != photo.shape[:2] or not np.issubdtype(depth.dtype, np.floating):
        raise DepthError(
            f"The depth map must be a float array of the photo's size {photo.shape[:2]}, "
            f"not {depth.shape} {depth.dtype}."
        )
    if not (0.0 <= margin <= 1.0 and 0.0 <= max_shift <= 1.0 and tear_threshold > 0.0):
        raise DepthError(
            f"Margin {margin} and max shift {max_shift} must lie in 0..1 and the tear threshold "
            f"{tear_threshold} must be positive."
        )
    near, far = near_far
    if not 0.0 < near < far:
        raise DepthError(f"The reference near/far {near_far} must satisfy 0 < near < far.")
    depth = depth.astype(np.float32, copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "DEPTH":
            valid = np.isfinite(depth) & (depth > 0.0)
            inverse = np.where(valid, 1.0 / np.where(valid, depth, 1.0), 0.0)
        else:
            valid = np.isfinite(depth)
            inverse = np.where(valid, 1.0 / far + np.clip(depth, 0.0, 1.0) * (1.0 / near - 1.0 / far), 0.0)
    if not valid.any():
        raise DepthError(
            "The depth map has no usable pixel (every value is NaN, infinite or not positive), so "
            "no background layer can be built."
        )
    return np.ascontiguousarray(photo[:, :, :3]), inverse.astype(np.float32), valid


def _edge_pixels(inverse, valid, ratio):
    """(far, near, reference): the pixels that are the farther, and those that are the nearer, side of a jump to
    one of their 8 neighbours, and for the near ones the inverse depth of their nearest far neighbour (0
    elsewhere)."""
    far_edge = np.zeros_like(valid)
    reference = np.zeros(inverse.shape, dtype=np.float32)
    height, width = inverse.shape
    # (row offset, column offset) of the neighbour: right, down, down-right, down-left.
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a_rows, b_rows = slice(0, height - dy), slice(dy, height)
        a_cols = slice(max(0, -dx), width - max(0, dx))
        b_cols = slice(max(0, dx), width - max(0, -dx))
        a, b = inverse[a_rows, a_cols], inverse[b_rows, b_cols]
        both = valid[a_rows, a_cols] & valid[b_rows, b_cols]
        b_nearer, a_nearer = both & (b > ratio * a), both & (a > ratio * b)
        far_edge[a_rows, a_cols] |= b_nearer
        far_edge[b_rows, b_cols] |= a_nearer
        reference[b_rows, b_cols] = np.maximum(reference[b_rows, b_cols], np.where(b_nearer, a, 0.0))
        reference[a_rows, a_cols] = np.maximum(reference[a_rows, a_cols], np.where(a_nearer, b, 0.0))
    return far_edge, reference > 0.0, reference


def _window_min(values, radius):
    """Minimum over the (2 radius + 1)^2 window around each pixel (clipped at the borders)."""
    return _axis_window_min(_axis_window_min(values, radius, 0), radius, 1)


def _axis_window_min(values, radius, axis):
    # Doubling: after k steps `run[i]` is the minimum of 2^k values from i on; two overlapping runs of the largest
    # power of two cover any window length.
    size = 2 * radius + 1
    length = values.shape[axis]
    padded = np.concatenate(
        [
            np.full_like(np.take(values, [0] * radius, axis=axis), np.inf),
            values,
            np.full_like(np.take(values, [0] * radius, axis=axis), np.inf),
        ],
        axis=axis,
    )
    run, span = padded, 1
    while span * 2 <= size:
        shifted = np.take(run, np.arange(span, run.shape[axis]), axis=axis)
        run = np.minimum(np.take(run, np.arange(run.shape[axis] - span), axis=axis), shifted)
        span *= 2
    first = np.take(run, np.arange(length), axis=axis)
    second = np.take(run, np.arange(size - span, size - span + length), axis=axis)
    return np.minimum(first, second)


def _summed_area(mask):
    """The summed-area table of `mask`, with a leading row and column of zeros."""
    return np.pad(np.cumsum(np.cumsum(mask, axis=0, dtype=np.int32), axis=1), ((1, 0), (1, 0)))


def _within_distance(table, pixels, radii):
    """Whether each of `pixels` (row and column index arrays) has a True pixel of the mask whose summed-area
    `table` this is within its Chebyshev radius (integer array): one box count per pixel."""
    height, width = table.shape[0] - 1, table.shape[1] - 1
    rows, cols = pixels
    top, bottom = np.clip(rows - radii, 0, height), np.clip(rows + radii + 1, 0, height)
    left, right = np.clip(cols - radii, 0, width), np.clip(cols + radii + 1, 0, width)
    return (table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]) > 0


def _distance(table, pixels, upper):
    """Chebyshev distance from each of `pixels` to the nearest True pixel of the mask whose summed-area `table`
    this is, known to be at most `upper` (integer array): a bisection of box counts."""
    low, high = np.zeros_like(upper), upper.copy()
    while (low < high).any():
        middle = (low + high) // 2
        found = _within_distance(table, pixels, middle)
        high = np.where(found, middle, high)
        low = np.where(found, low, middle + 1)
    return high.astype(np.float32)


def _grow_foreground(seeds, reference, inverse, allowed, ratio, limit):
    """bool: the pixels reached from the `seeds` in at most `limit` 8-connected steps within `allowed`, each step
    entering only a pixel more than `ratio` nearer than the largest `reference` (inverse depth of the far side,
    carried along from the seeds) of the pixels it comes from. Grown on every second pixel of every second row
    (a quarter of the work, for half as many steps; the colour fill needs no finer outline), then a seed or an
    allowed pixel next to a reached one is reached."""
    height, width = seeds.shape
    coarse = _grow_from_seeds(
        _sum_2x2(seeds) > 0, _max_2x2(reference), inverse[::2, ::2], allowed[::2, ::2], ratio, (limit + 1) // 2
    )
    reached = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:height, :width]
    return seeds | (_grow(reached) & allowed)


def _max_2x2(values):
    height, width = values.shape
    padded = np.pad(values, ((0, height % 2), (0, width % 2)))
    return np.maximum(
        np.maximum(padded[0::2, 0::2], padded[1::2, 0::2]), np.maximum(padded[0::2, 1::2], padded[1::2, 1::2])
    )


def _grow_from_seeds(seeds, reference, inverse, allowed, ratio, limit):
    reached = seeds.copy()
    carried = np.where(seeds, reference, -np.inf).astype(np.float32)
    threshold = np.where(allowed, inverse / ratio, -np.inf).astype(np.float32)
    for _ in range(limit - 1):
        around = _neighbour_max(carried)
        grown = (around > -np.inf) & (around < threshold) & ~reached
        if not grown.any():
            break
        reached |= grown
        carried[grown] = around[grown]
    return reached


def _neighbour_max(values):
    """The maximum over each pixel's 3x3 neighbourhood (separable)."""
    rows = values.copy()
    np.maximum(rows[1:], values[:-1], out=rows[1:])
    np.maximum(rows[:-1], values[1:], out=rows[:-1])
    result = rows.copy()
    np.maximum(result[:, 1:], rows[:, :-1], out=result[:, 1:])
    np.maximum(result[:, :-1], rows[:, 1:], out=result[:, :-1])
    return result


def _border_ring(shape):
    """The photo's one-pixel border ring."""
    ring = np.ones(shape, dtype=bool)
    ring[1:-1, 1:-1] = False
    return ring


def _grow(mask):
    """The mask grown by one pixel (3x3)."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    row_grown = grown.copy()
    grown[:, 1:] |= row_grown[:, :-1]
    grown[:, :-1] |= row_grown[:, 1:]
    return grown


def _fill_inverse_depth(inverse, sources):
    """Inverse depth from the source pixels only: q̄ + g · (p - p̄) (see the module docstring)."""
    rows, cols = np.mgrid[0 : inverse.shape[0], 0 : inverse.shape[1]].astype(np.float32)
    mean = _pull_push(np.stack([cols, rows, inverse], axis=2), sources.astype(np.float32))
    # Inverse-depth gradients from pairs of neighbouring sources, with their own weights: a pixel needs a pair in
    # both directions, otherwise the missing direction's 0 would flatten the plane.
    both = np.zeros_like(sources)
    both[:-1, :-1] = sources[:-1, :-1] & sources[:-1, 1:] & sources[1:, :-1]
    if not both.any():
        return mean[..., 2]
    gradients = np.zeros((*inverse.shape, 2), dtype=np.float32)
    gradients[:-1, :-1, 0] = inverse[:-1, 1:] - inverse[:-1, :-1]
    gradients[:-1, :-1, 1] = inverse[1:, :-1] - inverse[:-1, :-1]
    slope = _pull_push(gradients, both.astype(np.float32))
    return mean[..., 2] + slope[..., 0] * (cols - mean[..., 0]) + slope[..., 1] * (rows - mean[..., 1])


def _fill_colour(photo, background, band, candidates, copy_offsets, seam_weights, inverse, layer_inverse, ratio):
    """uint8 colours: the photo at the `background` pixels; on the `band` (and next to it) a copy of the colour
    sources (the `candidates` off the rim of the others: antialiased pixels there are part foreground) shifted
    away from the foreground (see the module docstring), its low frequencies moved toward the sources' low-pass by
    `seam_weights` (1 at the silhouette, so that the copy joins the background there without a seam in
    brightness)."""
    height, width = background.shape
    near_others = ~candidates
    for _ in range(COLOUR_RIM):
        near_others = _grow(near_others)
    sources = candidates & ~near_others
    if not sources.any():
        sources = background
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    weights = sources.astype(np.float32)
    centre = _pull_push(np.stack([cols, rows], axis=2), weights)
    low = _pull_push(photo.astype(np.float32), weights, COLOUR_SMOOTH_LEVELS)
    colour = photo.astype(np.float32)
    # Background pixels keep their own colour: the rim's geometry meets the front layer's (same depth). The
    # others without geometry (the foreground's interior) take the low-pass, except next to the band, where
    # bilinear sampling reaches.
    colour[~background] = low[~background]
    targets = np.nonzero(~background & _grow(band))
    # Away from the foreground: toward the centre of the sources that fill the pixel.
    away = centre[targets] - np.stack([targets[1], targets[0]], axis=1)
    length = np.maximum(np.hypot(away[:, 0], away[:, 1]), 1e-3)
    offset = (copy_offsets[targets] / length)[:, None] * away
    filled, target_inverse = low[targets], layer_inverse[targets]
    copied = np.zeros(len(targets[0]), dtype=bool)
    # The shifted copy (a translation: the texture continues unreflected), farther where that lands on no
    # source; else the mirror image through the centre (2 p̄ - p); else the low-pass alone.
    sideways = np.zeros_like(offset)
    sideways[:, 0] = np.where(away[:, 0] >= 0.0, 1.0, -1.0) * copy_offsets[targets]
    shifts = [factor * direction for direction in (sideways, offset) for factor in COPY_OFFSET_FACTORS]
    # First only from a surface at about the layer's depth there (the floor's colour not onto the wall behind),
    # then from any (the layer's depth behind an object standing on a floor may be the wall's).
    attempts = [(shift, True) for shift in shifts] + [(shift, False) for shift in shifts] + [(2.0 * away, False)]
    seams = seam_weights[targets][:, None]
    for shift, same_depth in attempts:
        left = np.nonzero(~copied)[0]
        copy_cols = np.rint(targets[1][left] + shift[left, 0]).astype(np.int64)
        copy_rows = np.rint(targets[0][left] + shift[left, 1]).astype(np.int64)
        within = (copy_rows >= 0) & (copy_rows < height) & (copy_cols >= 0) & (copy_cols < width)
        copy_rows, copy_cols = np.where(within, copy_rows, 0), np.where(within, copy_cols, 0)
        take = within & sources[copy_rows, copy_cols]
        if same_depth:
            source_inverse, layer_there = inverse[copy_rows, copy_cols], target_inverse[left]
            take &= (source_inverse < ratio * layer_there) & (layer_there < ratio * source_inverse)
        copy_rows, copy_cols, left = copy_rows[take], copy_cols[take], left[take]
        filled[left] = photo[copy_rows, copy_cols] + seams[left] * (filled[left] - low[copy_rows, copy_cols])
        copied[left] = True
    colour[targets] = filled
    return np.clip(colour + 0.5, 0.0, 255.0).astype(np.uint8)


def _extend(values, pad, ratio, axis):
    """`values` (inverse depth) extended by `pad` pixels at both ends of `axis`, each line continuing linearly
    with the slope of its last SLOPE_SPAN pixels when they hold no depth jump, constantly otherwise (so a plane
    stays a plane and a jump at the border stays a clean jump), within PLAUSIBLE_NEARER of its border value."""
    if pad == 0:
        return values
    lines = np.moveaxis(values, axis, 0)
    span = min(SLOPE_SPAN, lines.shape[0] - 1)
    steps = np.arange(1, pad + 1, dtype=np.float32)[:, None]
    ends = []
    for inward in (lines, lines[::-1]):
        end = inward[: span + 1]
        slope = np.zeros_like(inward[0])
        if span > 0:
            pairs_max, pairs_min = np.maximum(end[1:], end[:-1]), np.minimum(end[1:], end[:-1])
            smooth = (pairs_max <= ratio * pairs_min).all(axis=0)
            slope = np.where(smooth, (end[0] - end[span]) / span, 0.0)
        # Outward from the border; a curved surface's slope would run away, so within a plausible factor.
        ends.append(np.clip(inward[0] + slope * steps, inward[0] / PLAUSIBLE_NEARER, inward[0] * PLAUSIBLE_NEARER))
    return np.moveaxis(np.concatenate([ends[0][::-1], lines, ends[1]]), 0, axis).astype(np.float32)


def _extend_colour(photo, front_inverse, extended_inverse, pad, foreground):
    """Colours beyond the frame: the photo mirrored at its border, else the photo shifted outward by the margin
    (a translation), whichever first agrees with the extended surface's depth (within PLAUSIBLE_NEARER: the
    texture of a floor or wall continues) and is no `foreground` pixel unless the border pixel it continues is
    (an object cut by the frame continues, one standing inside it is not copied onto the floor); the border
    pixel's colour streaked outward where neither does."""
    pad_x, pad_y = pad
    height, width = front_inverse.shape
    rows = np.arange(-pad_y, height + pad_y)
    cols = np.arange(-pad_x, width + pad_x)
    border_rows, border_cols = np.clip(rows, 0, height - 1)[:, None], np.clip(cols, 0, width - 1)[None, :]
    colour = photo[border_rows, border_cols]
    border_foreground = foreground[border_rows, border_cols]
    done = np.zeros(extended_inverse.shape, dtype=bool)
    for copy_rows, copy_cols in (
        (_reflect(rows, height), _reflect(cols, width)),
        (_translate(rows, height, pad_y), _translate(cols, width, pad_x)),
    ):
        copy_rows, copy_cols = copy_rows[:, None], copy_cols[None, :]
        copy_inverse = front_inverse[copy_rows, copy_cols]
        take = (
            ~done
            & (copy_inverse <= PLAUSIBLE_NEARER * extended_inverse)
            & (extended_inverse <= PLAUSIBLE_NEARER * copy_inverse)
            & (border_foreground | ~foreground[copy_rows, copy_cols])
        )
        colour = np.where(take[..., None], photo[copy_rows, copy_cols], colour)
        done |= take
    return colour


def _translate(indices, length, pad):
    """Indices beyond the ends shifted inward by `pad` (-1 -> pad - 1, length -> length - pad), clipped."""
    shifted = np.where(indices < 0, indices + pad, np.where(indices >= length, indices - pad, indices))
    return np.clip(shifted, 0, length - 1)


def _reflect(indices, length):
    """Indices mirrored into 0..length-1 about the ends (-1 -> 0, length -> length - 1), clipped beyond."""
    reflected = np.where(indices < 0, -indices - 1, np.where(indices >= length, 2 * length - 1 - indices, indices))
    return np.clip(reflected, 0, length - 1)


def _pull_push(values, weights, smooth_levels=0):
    """Background-weighted pull-push: values (H, W, C) where weights (H, W) are 1, filled elsewhere with the
    weighted mean of the nearest sources, smoothly (bilinear push). Needs at least one weight > 0. With
    `smooth_levels` k the finest k levels are not mixed back in: a low-pass (about 2^k pixels) of the sources,
    defined everywhere."""
    pyramid = []
    level_values, level_weights = values * weights[..., None], weights
    while True:
        pyramid.append((level_values, level_weights))
        if level_weights.shape[0] == 1 and level_weights.shape[1] == 1:
            break
        sums = _sum_2x2(level_values * level_weights[..., None])
        total = _sum_2x2(level_weights)
        level_values = sums / np.maximum(total, 1e-12)[..., None]
        level_weights = np.minimum(total, 1.0)
    filled = pyramid[-1][0]
    for level, (level_values, level_weights) in reversed(list(enumerate(pyramid[:-1]))):
        filled = _upsample(filled, level_weights.shape)
        if level >= smooth_levels:
            filled = filled + level_weights[..., None] * (level_values - filled)
    return filled


def _sum_2x2(array):
    height, width = array.shape[:2]
    if height % 2 or width % 2:
        pad = [(0, height % 2), (0, width % 2)] + [(0, 0)] * (array.ndim - 2)
        array = np.pad(array, pad)
    return (array[0::2, 0::2] + array[1::2, 0::2]) + (array[0::2, 1::2] + array[1::2, 1::2])


def _upsample(array, shape):
    """Bilinear x2 upsampling (pixel centres aligned: child 2m and 2m+1 lie a quarter pixel either side of
    parent m), cropped to `shape`."""
    return _upsample_axis(_upsample_axis(array, shape[0], 0), shape[1], 1)


def _upsample_axis(array, length, axis):
    rows = np.swapaxes(array, 0, axis)
    upsampled = np.empty((2 * rows.shape[0], *rows.shape[1:]), dtype=rows.dtype)
    before = np.concatenate([rows[:1], rows[:-1]])
    after = np.concatenate([rows[1:], rows[-1:]])
    upsampled[0::2] = rows + 0.25 * (before - rows)
    upsampled[1::2] = rows + 0.25 * (after - rows)
    return np.swapaxes(upsampled[:length], 0, axis)


def _plausible_range(source_inverse, kind, near_far):
    """(lowest, highest) inverse depth a fill from `source_inverse` may take."""
    high = PLAUSIBLE_NEARER * float(source_inverse.max())
    if kind == "INVERSE":
        return 1.0 / near_far[1], high
    return 0.5 * float(source_inverse.min()), high


def depth_of_kind(inverse, kind, near_far=REFERENCE_NEAR_FAR):
    """Inverse depth back to the depth map's kind (for "INVERSE", through the reference near/far)."""
    if kind == "DEPTH":
        return (1.0 / inverse).astype(np.float32)
    near, far = near_far
    return np.clip((inverse - 1.0 / far) / (1.0 / near - 1.0 / far), 0.0, 1.0).astype(np.float32)
