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

Colour fill under the foreground: texture by mirroring, smoothness by pull-push, background only. The colour
sources are the depth sources plus the near-side pixels that turn out not to be in front of the continued
background (a slope rising within the search radius). A pixel to fill takes the colour of its mirror image
through the centre p̄ of the sources that fill it (2 p̄ - p: next to a silhouette this is the background
just across it, so the texture continues across the edge like a reflection) where that is a colour source,
else the sources' pull-push mean colour. Never a foreground colour; a few array operations, no search. An
exemplar search (PatchMatch) or an inpainting network would hide the reflections' symmetry better and are the
upgrades.

Beyond the frame (border extension) the photo's surface continues, whatever touches the border, foreground
included (the front layer stops at the frame; the scene does not). Depth: each row, then each column, is
extended linearly in inverse depth with the slope of its last 8 pixels when they hold no tear-sized step
(exact for planes; a floor keeps its slope), constantly otherwise (a jump at the border stays a clean jump,
never an in-between depth), within 1.5x of the border pixel's inverse depth (a curved surface's slope would
run away). Colour: the photo mirrored at its border where the mirrored pixel's inverse depth is within 1.5x of
the extended surface's (floors and walls keep their texture), the border pixel's colour streaked outward
where it is not (so an object inside the frame is not mirrored onto a surface that continues something else).

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


def build_background_layer(photo: np.ndarray, depth: np.ndarray, kind: str, *, margin: float = MAX_MARGIN,
                           max_shift: float = MAX_SHIFT, tear_threshold: float = TEAR_THRESHOLD,
                           near_far: tuple[float, float] = REFERENCE_NEAR_FAR) -> BackgroundLayer:
    """The background layer of `photo` (HxWx3 uint8; an alpha channel is dropped) and its `depth` (HxW, kind
    "INVERSE" or "DEPTH" as in `DepthResult`). Non-finite depth pixels (and, for "DEPTH", non-positive ones)
    are treated as unknown and filled; a map with no usable pixel is refused with a `DepthError`."""
    photo, inverse, valid = _checked_inputs(photo, depth, kind, margin, max_shift, tear_threshold, near_far)
    height, width = inverse.shape
    ratio = 1.0 + tear_threshold
    band_width = max(float(MIN_BAND_WIDTH), max_shift * max(width, height))

    far_edge = _far_edge_pixels(inverse, valid, ratio)
    near_side = np.zeros_like(valid)
    if far_edge.any():
        search_radius = int(math.ceil(NEAR_SIDE_SEARCH_IN_BAND_WIDTHS * band_width))
        edge_inverse = np.where(far_edge, inverse, np.inf).astype(np.float32)
        near_side = valid & (inverse > ratio * _window_min(edge_inverse, search_radius))
    sources = valid & ~near_side

    band = np.zeros_like(valid)
    band_reach = np.zeros(valid.shape, dtype=np.float32)
    layer_inverse, layer_colour, background = inverse, photo, sources
    low, high = _plausible_range(inverse[sources], kind, near_far)
    if not sources.all():
        filled_inverse = np.clip(_fill_inverse_depth(inverse, sources), low, high)
        if near_side.any():
            in_front = near_side & (inverse > ratio * filled_inverse)
            pixels = np.nonzero(in_front)
            widths = np.clip(band_width * (1.0 - filled_inverse[pixels] / inverse[pixels]), MIN_BAND_WIDTH,
                             band_width)
            far_edge_table = _summed_area(far_edge)
            in_band = _within_distance(far_edge_table, pixels, np.floor(widths).astype(np.int64))
            pixels, widths = tuple(index[in_band] for index in pixels), widths[in_band]
            band[pixels] = True
            band_reach[pixels] = _distance(far_edge_table, pixels, np.floor(widths).astype(np.int64)) / widths
            # Near-side pixels that are not in front of the continued background (a slope rising within the
            # search radius) are background after all: they keep their own depth and their colours may fill.
            background = valid & ~in_front
        layer_inverse = np.where(background, inverse, filled_inverse)
        layer_colour = _fill_colour(photo, background)

    # Beyond the frame the photo's surface continues, whatever touches the border (unknown pixels filled).
    pad_x, pad_y = margin_pixels((width, height), margin)
    inside = (slice(pad_y, pad_y + height), slice(pad_x, pad_x + width))
    front_inverse = np.where(valid, inverse, layer_inverse)
    extended_inverse = np.clip(_extend(_extend(front_inverse, pad_y, ratio, 0), pad_x, ratio, 1),
                               *_plausible_range(inverse[valid], kind, near_far))
    extended_inverse[inside] = layer_inverse
    extended_colour = _extend_colour(photo, front_inverse, extended_inverse, (pad_x, pad_y))
    extended_colour[inside] = layer_colour

    # Beyond the frame, on the photo's border ring and on the far side's rim along the band: reach 0.
    reach = np.zeros(extended_inverse.shape, dtype=np.float32)
    rim = (_grow(band) & background & ~band) | _border_ring(band.shape)
    reach[inside] = np.where(band, band_reach, np.where(rim, 0.0, NO_GEOMETRY))
    return BackgroundLayer(depth=depth_of_kind(extended_inverse, kind, near_far), colour=extended_colour,
                           reach=reach, band=band, kind=kind, margin=float(margin), pad=(pad_x, pad_y))


def _checked_inputs(photo, depth, kind, margin, max_shift, tear_threshold, near_far):
    """(photo HxWx3 uint8, inverse depth float32 with 0 where unknown, valid mask)."""
    if kind not in KINDS:
        raise DepthError(f'The depth kind must be one of {", ".join(KINDS)}, not "{kind}".')
    photo = np.asarray(photo)
    depth = np.asarray(depth)
    if photo.ndim != 3 or photo.shape[2] not in (3, 4) or photo.dtype != np.uint8:
        raise DepthError(f"The photo must be an HxWx3 (or HxWx4) uint8 array, not {photo.shape} {photo.dtype}.")
    if depth.ndim != 2 or depth.shape != photo.shape[:2] or not np.issubdtype(depth.dtype, np.floating):
        raise DepthError(f"The depth map must be a float array of the photo's size {photo.shape[:2]}, "
                         f"not {depth.shape} {depth.dtype}.")
    if not (0.0 <= margin <= 1.0 and 0.0 <= max_shift <= 1.0 and tear_threshold > 0.0):
        raise DepthError(f"Margin {margin} and max shift {max_shift} must lie in 0..1 and the tear threshold "
                         f"{tear_threshold} must be positive.")
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
        raise DepthError("The depth map has no usable pixel (every value is NaN, infinite or not positive), so "
                         "no background layer can be built.")
    return np.ascontiguousarray(photo[:, :, :3]), inverse.astype(np.float32), valid


def _far_edge_pixels(inverse, valid, ratio):
    """Pixels that are the farther side of a jump to one of their 8 neighbours."""
    far_edge = np.zeros_like(valid)
    height, width = inverse.shape
    # (row offset, column offset) of the neighbour: right, down, down-right, down-left.
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a_rows, b_rows = slice(0, height - dy), slice(dy, height)
        a_cols = slice(max(0, -dx), width - max(0, dx))
        b_cols = slice(max(0, dx), width - max(0, -dx))
        a, b = inverse[a_rows, a_cols], inverse[b_rows, b_cols]
        both = valid[a_rows, a_cols] & valid[b_rows, b_cols]
        far_edge[a_rows, a_cols] |= both & (b > ratio * a)
        far_edge[b_rows, b_cols] |= both & (a > ratio * b)
    return far_edge


def _window_min(values, radius):
    """Minimum over the (2 radius + 1)^2 window around each pixel (clipped at the borders)."""
    return _axis_window_min(_axis_window_min(values, radius, 0), radius, 1)


def _axis_window_min(values, radius, axis):
    # Doubling: after k steps `run[i]` is the minimum of 2^k values from i on; two overlapping runs of the largest
    # power of two cover any window length.
    size = 2 * radius + 1
    length = values.shape[axis]
    padded = np.concatenate([np.full_like(np.take(values, [0] * radius, axis=axis), np.inf), values,
                             np.full_like(np.take(values, [0] * radius, axis=axis), np.inf)], axis=axis)
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
    rows, cols = np.mgrid[0:inverse.shape[0], 0:inverse.shape[1]].astype(np.float32)
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


def _fill_colour(photo, sources):
    """uint8 colours: the photo at the sources; elsewhere the colour of the pixel's mirror image through the
    centre p̄ of the sources that fill it (2 p̄ - p) where that is a source, the sources' pull-push mean where
    it is not."""
    height, width = sources.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    mean = _pull_push(np.concatenate([np.stack([cols, rows], axis=2), photo.astype(np.float32)], axis=2),
                      sources.astype(np.float32))
    colour = np.clip(mean[..., 2:5] + 0.5, 0.0, 255.0).astype(np.uint8)
    targets = np.nonzero(~sources)
    mirror_rows = np.rint(2.0 * mean[..., 1][targets] - targets[0]).astype(np.int64)
    mirror_cols = np.rint(2.0 * mean[..., 0][targets] - targets[1]).astype(np.int64)
    within = (mirror_rows >= 0) & (mirror_rows < height) & (mirror_cols >= 0) & (mirror_cols < width)
    mirror_rows, mirror_cols = np.where(within, mirror_rows, 0), np.where(within, mirror_cols, 0)
    copy = within & sources[mirror_rows, mirror_cols]
    colour[targets[0][copy], targets[1][copy]] = photo[mirror_rows[copy], mirror_cols[copy]]
    colour[sources] = photo[sources]
    return colour


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


def _extend_colour(photo, front_inverse, extended_inverse, pad):
    """Colours beyond the frame: the photo mirrored at its border where the mirrored pixel's depth agrees with
    the extended surface's (within PLAUSIBLE_NEARER: the texture of a floor or wall continues), the border
    pixel's colour streaked outward where it does not (an object mirrored in from inside the frame would stand
    where the surface continues something else)."""
    pad_x, pad_y = pad
    height, width = front_inverse.shape
    border_rows = np.arange(-pad_y, height + pad_y)
    border_cols = np.arange(-pad_x, width + pad_x)
    mirror_rows, mirror_cols = _reflect(border_rows, height), _reflect(border_cols, width)
    border_rows, border_cols = np.clip(border_rows, 0, height - 1), np.clip(border_cols, 0, width - 1)
    mirrored_inverse = front_inverse[mirror_rows[:, None], mirror_cols[None, :]]
    agrees = ((mirrored_inverse <= PLAUSIBLE_NEARER * extended_inverse)
              & (extended_inverse <= PLAUSIBLE_NEARER * mirrored_inverse))
    return np.where(agrees[..., None], photo[mirror_rows[:, None], mirror_cols[None, :]],
                    photo[border_rows[:, None], border_cols[None, :]])


def _reflect(indices, length):
    """Indices mirrored into 0..length-1 about the ends (-1 -> 0, length -> length - 1), clipped beyond."""
    reflected = np.where(indices < 0, -indices - 1, np.where(indices >= length, 2 * length - 1 - indices, indices))
    return np.clip(reflected, 0, length - 1)


def _pull_push(values, weights):
    """Background-weighted pull-push: values (H, W, C) where weights (H, W) are 1, filled elsewhere with the
    weighted mean of the nearest sources, smoothly (bilinear push). Needs at least one weight > 0."""
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
    for level_values, level_weights in reversed(pyramid[:-1]):
        coarse = _upsample(filled, level_weights.shape)
        filled = coarse + level_weights[..., None] * (level_values - coarse)
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
