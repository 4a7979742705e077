"""Edge-true upsampling: a coarse depth map to the photo's working resolution, with its discontinuities moved
onto the photo's edges. Never imports bpy; numpy and Pillow only.

Why: a depth network sees the photo at 256..518 pixels and blurs every object boundary over a few of its
pixels; upsampled bilinearly, a silhouette becomes a ramp of in-between depths ("flying pixels") that the
mesh turns into fringes and crumbs floating between foreground and background.

Method (guided upsampling, then discontinuity snapping), chosen because it is local, needs no iterative
solve, and only does per-pixel work in a narrow band:

1. Inverse depth. Everything happens on inverse depth (relative inverse depth as it is; metric depth is
   inverted first and back at the end): planes in the scene are affine in inverse depth, so a slanted floor
   is a linear ramp there and step 2 sees no edge in it.
2. Find the discontinuities at the map's own resolution, where it is cheap: a pixel is near an edge when its
   5x5 neighbourhood spans a jump of more than a few percent of the distance (`MIN_JUMP`), and that
   neighbourhood is not affine: the residual of a least-squares plane fit is a sizable part of the span
   (`MIN_NON_AFFINE`). A slope, however steep, is affine and never snaps, so smooth surfaces keep their
   bilinear upsampling: no terraces, and photo texture on them cannot create false edges. The edge pixels
   are then grown by one pixel, since the tails of a ramp blurred wider than the window look affine there.
3. The two sides of each edge pixel, also at low resolution, from pure pixels only. The neighbourhood splits
   at the middle of its span into a near and a far half; a neighbour is a pure member of its half when its
   whole 3x3 neighbourhood lies in that half and the map is affine there (no second difference above
   `MAX_CURVATURE` of the span), so that no pixel whose value averages both sides (a silhouette's pixel,
   or the tail of a blurred ramp) is ever a source. Each pure member's value is continued to the edge
   pixel along its own slope (the gentler one-sided difference per axis, exact on a plane), and a side's
   depth there is their mean, weighted by distance and by closeness to the edge pixel's own value (of two
   surfaces on a side, the one its value mixes with). So a side's surface is extrapolated, never copied:
   the floor next to a sphere is the floor's plane continued, the curved sphere its own slope continued.
   An edge pixel that is itself a pure member keeps its own value for its side. A side without pure
   members nearby continues a neighbour's side depth along that side's slope (a blur wider than the
   window), else takes its 3x3 extreme (a structure thinner than a pixel: see 5). The sides' colours are
   the photo's mean colour (box-reduced to the map's size) over the same members.
4. Snapping at the photo's resolution, on the band of pixels whose bilinear value blends an impure
   low-resolution pixel (elsewhere the bilinear blends pure pixels of one surface, exact on a plane; the
   band is a few pixels wide along true discontinuities only): every band pixel takes the depth of exactly
   one side, each side's depth sampled bilinearly from its low-resolution side map. The decision adds the
   colour evidence to a prior from where the pixel's bilinear depth lies between the two sides (t in 0..1,
   log-odds `DEPTH_PRIOR` (2 t - 1)). The bilinear ramp of a box-averaged map passes its midpoint at the
   true edge, so the prior alone places an edge within about a pixel, and it outweighs colour at the ends
   of a ramp, so that a textured or similar-coloured side cannot move depth far; colour decides in the
   middle. Two passes: the first compares the bare distances to the two mean colours (which still
   separates the sides when a low-resolution pixel mixes both, as at a thin structure); then each side's
   colour model (mean and variance) comes from the band pixels the first pass gave it, and the
   log-likelihood ratio of two isotropic Gaussians, clipped to +-`COLOUR_CONFIDENCE`, decides. Where a side
   has no pure pixel (a thin structure, whose depth in the map is diluted), the prior is weaker
   (`THIN_DEPTH_PRIOR`). Then the labels are regularised: a band pixel that no band neighbour agrees with,
   or that at least two more disagree with than agree, is flipped (no isolated specks, no notches). Where
   the two sides' depths differ by less than `MIN_JUMP` (a crease, as the wall meets the floor) the
   bilinear depth stays.
5. Thin structures (a pole narrower than a low-resolution pixel) appear in the coarse map at reduced
   contrast, mixed with the background. Where no low-resolution pixel nearby is covered whole by the near
   side, each one's near depth is un-mixed from the labels: its value is the area-weighted mean of the sides
   it covers, so the near depth is far + (value - far) / coverage (for a coverage of at least 0.2), which
   gives a thin pole its own depth instead of an in-between one. This assumes the coarse map averages the
   scene over its pixels' area, as a resized exact map does and as a network does at best.

Cost: the low-resolution work is O(map size) plus O(edge pixels x 25); the full-resolution work is one
bilinear resize plus O(band pixels). About 20-30 ms for a 1024x768 photo of a few objects with a 256x256
map, about 115 ms for the random-weights test network's map, whose noise makes edges of 45 % of its pixels
(tools/bench_refine.py, tools/bench_depth.py).

Outside the band the result is the plain bilinear upsampling. Nothing here produces NaN: non-finite input
pixels are replaced by the farthest finite value first, as `depth_files` does.
"""

import numpy as np
from PIL import Image

from .errors import DepthError
from .images import display_to_uint8

RADIUS = 2  # low-resolution neighbourhood: 5x5 covers a network's blur of a boundary
# An edge: the neighbourhood spans at least this relative jump in distance...
MIN_JUMP = 0.04
# ...and a plane fit leaves an RMS residual of at least this fraction of the span (0 for any slope; a step
# centred in the window leaves ~0.35, one at its rim ~0.2).
MIN_NON_AFFINE = 0.12
# Relative inverse depth 0 is the far plane, not infinity: this offset makes the jump relative to the
# distance under the default Near/Far (1/10: inverse 0.1 + 0.9 d, i.e. proportional to d + 0.11).
INVERSE_OFFSET = 0.11
MAX_CURVATURE = 0.1  # of the span: the largest second difference at a pure pixel (a blurred ramp's tail is not)
SIDE_SIGMA = 0.7  # low-resolution pixels: how fast the weight of a side's members falls off with distance
SURFACE_SCALE = 0.1  # of the span: a side's surface this far from a pixel's own value counts less for it
# Log-odds for the near side from the bilinear depth's position between the sides (x (2 t - 1), t in 0..1),
# against the colour evidence, clipped to COLOUR_CONFIDENCE: colour decides in the middle of a ramp, where a
# network's blur leaves the depth ambiguous, depth at its ends, where textured colour might mislead...
DEPTH_PRIOR = 14.0
THIN_DEPTH_PRIOR = 10.0  # ...less so where a side has no pure pixel nearby (a thin structure's diluted depth)
COLOUR_CONFIDENCE = 8.0
COLOUR_FLOOR = 3 * 5.0**2  # least colour variance of a side (over the 3 channels): sensor noise, JPEG
MIN_COVERAGE = 0.2  # least foreground area of a low-resolution pixel for un-mixing its depth
THIN_MARGIN = 0.05  # a structure is thin where no low-resolution pixel nearby is covered more than 1 - this


def photo_rgb8(photo) -> np.ndarray:
    """An HxWx3 uint8 photo from uint8/uint16/float pixels, with or without alpha (alpha is dropped)."""
    photo = np.asarray(photo)
    if photo.ndim == 2:
        photo = photo[:, :, None]
    if photo.ndim != 3 or photo.shape[2] not in (1, 2, 3, 4):
        raise DepthError(f"The photo for depth refinement must be HxWx3 (or 4), not shaped {list(photo.shape)}.")
    photo = photo[:, :, :3] if photo.shape[2] >= 3 else np.repeat(photo[:, :, :1], 3, axis=2)
    if photo.dtype == np.uint8:
        return photo
    if photo.dtype == np.uint16:
        return (photo >> 8).astype(np.uint8)
    if np.issubdtype(photo.dtype, np.floating):
        return display_to_uint8(photo)
    raise DepthError(f"The photo for depth refinement must be uint8, uint16 or float, not {photo.dtype}.")


def refine_depth(photo, depth: np.ndarray, kind: str = "INVERSE") -> np.ndarray:
    """`depth` (any size, any aspect) upsampled to the photo's size with its edges on the photo's edges.

    `photo` is HxWx3 (see `photo_rgb8` for the pixel types accepted); `kind` is "INVERSE" (relative inverse
    depth, near is large) or "DEPTH" (distance along the view axis). Returns float32 HxW of the same kind.
    A map of another aspect is stretched to the photo's: the caller says so to the user.
    """
    photo = photo_rgb8(photo)
    height, width = photo.shape[:2]
    inverse, offset = _to_inverse(np.asarray(depth, dtype=np.float32), kind)
    upsampled = _resize(inverse, width, height)
    low_height, low_width = inverse.shape
    if min(low_height, low_width) >= 2 * RADIUS + 1 and (low_width < width or low_height < height):
        _snap_edges(upsampled, inverse, offset, photo)
    return _from_inverse(upsampled, kind)


def _to_inverse(depth: np.ndarray, kind: str) -> tuple[np.ndarray, float]:
    """Finite inverse depth and its offset (see INVERSE_OFFSET); metric depth is inverted."""
    if depth.ndim != 2 or depth.size == 0:
        raise DepthError(f"A depth map must be a non-empty HxW array, not shaped {list(depth.shape)}.")
    valid = np.isfinite(depth) if kind == "INVERSE" else np.isfinite(depth) & (depth > 0)
    if not valid.any():
        raise DepthError("The depth map has no usable value (every pixel NaN, infinite or not positive).")
    if kind == "INVERSE":
        inverse = np.where(valid, depth, depth[valid].min())
        return inverse.astype(np.float32), INVERSE_OFFSET
    # The farthest valid distance for invalid pixels, as depth_files does.
    inverse = 1.0 / np.where(valid, depth, depth[valid].max())
    return inverse.astype(np.float32), 0.0


def _from_inverse(inverse: np.ndarray, kind: str) -> np.ndarray:
    if kind == "INVERSE":
        return np.ascontiguousarray(inverse, dtype=np.float32)
    return (1.0 / inverse).astype(np.float32)


def _resize(values: np.ndarray, width: int, height: int, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    if values.shape == (height, width):
        return values.astype(np.float32, copy=True)
    resized = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32)).resize((width, height), resample)
    return np.asarray(resized, dtype=np.float32).copy()


def _windows(values: np.ndarray, extrapolate: bool = False, radius: int = RADIUS):
    """Every shift of `values` (h x w [x C]) within the (2 RADIUS + 1)^2 neighbourhood, with its offset
    (dy, dx). Beyond the border the values are extended, or extrapolated linearly (so that a slope stays
    affine up to the border) with `extrapolate`."""
    pad = [(radius, radius), (radius, radius)] + [(0, 0)] * (values.ndim - 2)
    if extrapolate:
        padded = np.pad(values, pad, mode="reflect", reflect_type="odd")
    else:
        padded = np.pad(values, pad, mode="edge")
    height, width = values.shape[:2]
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            yield dy - radius, dx - radius, padded[dy : dy + height, dx : dx + width]


def _edge_pixels(inverse: np.ndarray, offset: float):
    """Low-resolution edge mask (grown by a pixel) and each pixel's neighbourhood max and min (see the module
    docstring)."""
    nearest = inverse.copy()
    farthest = inverse.copy()
    total = np.zeros_like(inverse)
    squares = np.zeros_like(inverse)
    along_x = np.zeros_like(inverse)
    along_y = np.zeros_like(inverse)
    for _, _, shifted in _windows(inverse):
        np.maximum(nearest, shifted, out=nearest)
        np.minimum(farthest, shifted, out=farthest)
    for dy, dx, shifted in _windows(inverse, extrapolate=True):
        total += shifted
        squares += shifted * shifted
        if dx:
            along_x += dx * shifted
        if dy:
            along_y += dy * shifted
    count = (2 * RADIUS + 1) ** 2
    # Moments of the offsets over the window: sum(dx^2) = sum(dy^2), and the offsets are orthogonal.
    offset_moment = (2 * RADIUS + 1) * sum(d * d for d in range(-RADIUS, RADIUS + 1))
    mean = total / count
    explained = mean * mean + (along_x * along_x + along_y * along_y) / (offset_moment * count)
    residual = np.sqrt(np.maximum(squares / count - explained, 0.0))
    span = nearest - farthest
    edges = (span > MIN_JUMP * (np.abs(nearest) + offset)) & (residual > MIN_NON_AFFINE * span)
    # Grown by a pixel: the tails of a ramp blurred wider than the window look affine in their own window.
    grown = edges.copy()
    for _, _, shifted in _windows(edges, radius=1):
        grown |= shifted
    return grown, nearest, farthest


def _gathered_windows(values: np.ndarray, cell_rows: np.ndarray, cell_columns: np.ndarray):
    """Like `_windows` (edges extended), but only at the low-resolution pixels (cell_rows, cell_columns)."""
    pad = [(RADIUS, RADIUS), (RADIUS, RADIUS)] + [(0, 0)] * (values.ndim - 2)
    padded = np.pad(values, pad, mode="edge")
    padded_width = padded.shape[1]
    flat = padded.reshape((-1, *values.shape[2:]))
    base = cell_rows * padded_width + cell_columns
    for dy in range(2 * RADIUS + 1):
        for dx in range(2 * RADIUS + 1):
            yield flat.take(base + (dy * padded_width + dx), axis=0)


def _squared_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise squared distance between two (N, 3) arrays."""
    difference = a - b
    return np.einsum("ij,ij->i", difference, difference)


def _colour_model(colour_sum, square_sum, count):
    """Mean colour and total variance (over the three channels) of a side, from sums over its pixels."""
    count = np.maximum(count, 1e-6)[..., None]
    mean = colour_sum / count
    variance = np.maximum(square_sum / count[..., 0] - np.einsum("ij,ij->i", mean, mean), 0.0) + COLOUR_FLOOR
    return mean, variance


def _side_depths(inverse, nearest, farthest, cell_colour, cell_rows, cell_columns):
    """At the edge pixels (cell_rows, cell_columns): the inverse depth of the near and of the far side there,
    each side's mean colour, whether the pixel is itself a pure member of a side, and whether both sides
    have pure members nearby (see the module docstring, step 3)."""
    lowest, highest = inverse.copy(), inverse.copy()
    for _, _, shifted in _windows(inverse, radius=1):
        np.minimum(lowest, shifted, out=lowest)
        np.maximum(highest, shifted, out=highest)
    along_y, along_x = _gentlest_slopes(inverse)
    # Pure members must also lie where the map is affine: the tail of a ramp blurred wider than a pixel is
    # above the middle, yet not at its side's depth.
    extended = np.pad(inverse, 1, mode="reflect", reflect_type="odd")  # a slope stays affine at the border
    curvature = np.maximum(
        np.abs(extended[1:-1, 2:] + extended[1:-1, :-2] - 2 * inverse),
        np.abs(extended[2:, 1:-1] + extended[:-2, 1:-1] - 2 * inverse),
    )
    affine = curvature <= MAX_CURVATURE * (nearest - farthest)
    lowest_any, highest_any = lowest, highest
    lowest, highest = np.where(affine, lowest, -np.inf), np.where(affine, highest, np.inf)
    middle = ((nearest + farthest) / 2)[cell_rows, cell_columns]
    own = inverse[cell_rows, cell_columns]
    value_scale = np.maximum(SURFACE_SCALE * (nearest - farthest)[cell_rows, cell_columns], 1e-9)
    values = np.concatenate([np.stack([inverse, lowest, highest, along_x, along_y], axis=2), cell_colour], axis=2)
    # The 5x5 neighbourhood of every edge pixel at once: (edge pixels, 25, channels).
    padded = np.pad(values, [(RADIUS, RADIUS), (RADIUS, RADIUS), (0, 0)], mode="edge")
    shifts_y, shifts_x = (shift.ravel() for shift in np.mgrid[-RADIUS : RADIUS + 1, -RADIUS : RADIUS + 1])
    padded_width = padded.shape[1]
    index = ((cell_rows + RADIUS) * padded_width + cell_columns + RADIUS)[:, None] + (
        shifts_y * padded_width + shifts_x
    )[None, :]
    window = padded.reshape(-1, values.shape[2])[index]
    shifts_y, shifts_x = shifts_y.astype(np.float32), shifts_x.astype(np.float32)
    value, low, high = window[:, :, 0], window[:, :, 1], window[:, :, 2]
    continued = value - shifts_x * window[:, :, 3] - shifts_y * window[:, :, 4]
    # Membership (pure near, near, pure far, far); both sides hold every pixel where the neighbourhood is flat
    # (a pixel the edge mask was grown by).
    middle_ = middle[:, None]
    membership = np.stack([low >= middle_, value >= middle_, high <= middle_, value <= middle_], axis=2)
    membership = (
        membership * np.exp(-(shifts_x**2 + shifts_y**2) / (2.0 * SIDE_SIGMA**2)).astype(np.float32)[None, :, None]
    )
    # Weighted sums per kind of membership: weight and colour (0..3), then, with the weight below, weight,
    # value and slopes along x and y (4..7).
    ones = np.ones((*value.shape, 1), np.float32)
    colour_sums = np.matmul(membership.transpose(0, 2, 1), np.concatenate([ones, window[:, :, 5:]], axis=2))
    # Of several surfaces on a side, the one nearest the pixel's own value: a pixel's value is a mean of the
    # surfaces it covers, so the surface it mixes with the other side lies next to it.
    membership *= (np.exp(-0.5 * ((continued - own[:, None]) / value_scale[:, None]) ** 2) + 1e-6)[:, :, None]
    sums = np.concatenate(
        [
            colour_sums,
            np.matmul(
                membership.transpose(0, 2, 1), np.concatenate([ones, continued[:, :, None], window[:, :, 3:5]], axis=2)
            ),
        ],
        axis=2,
    )
    own_low, own_high = lowest[cell_rows, cell_columns], highest[cell_rows, cell_columns]
    sides = []
    for pure, any_member, own_pure, extreme in (
        (0, 1, own_low >= middle, np.maximum),
        (2, 3, own_high <= middle, np.minimum),
    ):
        has_pure = sums[:, pure, 0] > 0
        side = np.where(has_pure[:, None], sums[:, pure], sums[:, any_member])
        continued = side[:, 5] / side[:, 4]
        # Without pure members: the side's depth at a neighbour that has them, continued along the slope of
        # the side's members there (a blur wider than the neighbourhood), else the side's extreme over the
        # 3x3 neighbourhood (un-mixed later if thin).
        unseen = -np.inf if pure == 0 else np.inf
        seen = np.zeros((*inverse.shape, 3), np.float32)
        seen[:, :, 0] = unseen
        seen[cell_rows, cell_columns] = np.where(
            has_pure[:, None],
            np.concatenate([continued[:, None], side[:, 6:8] / side[:, 4:5]], axis=1),
            [unseen, 0.0, 0.0],
        )
        beside = seen[:, :, 0].copy()
        for dy, dx, shifted in _windows(seen, radius=1):
            extreme(beside, shifted[:, :, 0] - dx * shifted[:, :, 1] - dy * shifted[:, :, 2], out=beside)
        beside = beside[cell_rows, cell_columns]
        close = (highest_any if pure == 0 else lowest_any)[cell_rows, cell_columns]
        # Within the map's range: an extrapolation never leaves it (no depth behind the far plane).
        continued = np.clip(
            np.where(has_pure, continued, np.where(np.isfinite(beside), beside, close)), inverse.min(), inverse.max()
        )
        sides.append(
            (np.where(own_pure, own, continued).astype(np.float32), side[:, 1:4] / side[:, :1], own_pure, has_pure)
        )
    (near, near_colour, pure_near, near_seen), (far, far_colour, pure_far, far_seen) = sides
    return near, far, (near_colour, far_colour), pure_near | pure_far, near_seen & far_seen


def _gentlest_slopes(values):
    """Per pixel, the slope along y and along x as the gentler of the one-sided differences (0 where they
    disagree in sign): exact on a plane, and a neighbour that mixes in the other side of an edge is ignored."""
    slopes = []
    for axis in (0, 1):
        padded = np.pad(values, [(1, 1) if index == axis else (0, 0) for index in (0, 1)], mode="edge")
        before = np.diff(padded, axis=axis)
        ahead, behind = (before[1:], before[:-1]) if axis == 0 else (before[:, 1:], before[:, :-1])
        slopes.append(np.where(ahead * behind > 0, np.where(np.abs(ahead) < np.abs(behind), ahead, behind), 0.0))
    return slopes


def _labelled_sides(cells, colour, is_near, shape, cell_rows, cell_columns, first_guess):
    """The two sides' colour models (mean, total variance) at the low-resolution pixels (cell_rows,
    cell_columns), from the band pixels labelled on each side in their neighbourhood. Where a side has none,
    the first guess's mean with a spread as wide as the two sides' difference (weak evidence)."""
    size = shape[0] * shape[1]
    square = np.einsum("ij,ij->i", colour, colour)
    guess_spread = _squared_distance(*first_guess) + COLOUR_FLOOR
    models = []
    for on_side, guess in zip((is_near, ~is_near), first_guess):
        weights = on_side.astype(np.float32)
        per_cell = np.stack(
            [
                np.bincount(cells, weights * values, size)
                for values in (colour[:, 0], colour[:, 1], colour[:, 2], square, np.ones_like(square))
            ],
            axis=1,
        )
        sums = np.zeros((len(cell_rows), 5), np.float32)
        for values in _gathered_windows(per_cell.reshape((*shape, 5)).astype(np.float32), cell_rows, cell_columns):
            sums += values
        mean, variance = _colour_model(sums[:, :3], sums[:, 3], sums[:, 4])
        known = sums[:, 4] > 0
        models.append((np.where(known[:, None], mean, guess), np.where(known, variance, guess_spread)))
    return models


def _stencil(size: int, low_size: int):
    """Per full-resolution row (or column): the first of the two low-resolution pixels a bilinear resize
    blends there, and the weight of the second, with the pixel-centre convention of Pillow's resize."""
    position = np.clip((np.arange(size, dtype=np.float32) + 0.5) * (low_size / size) - 0.5, 0, low_size - 1)
    first = np.minimum(position.astype(np.int64), max(low_size - 2, 0))
    return first, position - first


def _bilinear_at(values: np.ndarray, rows: np.ndarray, columns: np.ndarray, height: int, width: int):
    """Bilinear samples of low-resolution `values` (h x w) at full-resolution pixels (rows, columns) of an
    image height x width, as Pillow's resize gives them."""
    low_height, low_width = values.shape
    # Per row and per column first: the band holds many pixels of each.
    y0, fy = _stencil(height, low_height)
    x0, fx = _stencil(width, low_width)
    fy, fx = fy[rows], fx[columns]
    top_left = y0[rows] * low_width + x0[columns]
    step_x = (x0 < low_width - 1).astype(np.int64)[columns]
    step_y = np.where(y0 < low_height - 1, low_width, 0)[rows]
    flat = values.ravel()
    top = flat.take(top_left) * (1 - fx) + flat.take(top_left + step_x) * fx
    bottom = flat.take(top_left + step_y) * (1 - fx) + flat.take(top_left + step_y + step_x) * fx
    return top * (1 - fy) + bottom * fy


def _snap_edges(upsampled: np.ndarray, inverse: np.ndarray, offset: float, photo: np.ndarray) -> None:
    """Give every band pixel of `upsampled` (in place) the inverse depth of the side it belongs to."""
    height, width = upsampled.shape
    low_height, low_width = inverse.shape
    edges, nearest, farthest = _edge_pixels(inverse, offset)
    if not edges.any():
        return
    cell_rows, cell_columns = np.nonzero(edges)
    cell_colour = np.asarray(
        Image.fromarray(photo).resize((low_width, low_height), Image.Resampling.BOX), dtype=np.float32
    )
    near_cells, far_cells, first_guess, pure, both_seen = _side_depths(
        inverse, nearest, farthest, cell_colour, cell_rows, cell_columns
    )
    near_side, far_side = inverse.copy(), inverse.copy()
    near_side[cell_rows, cell_columns], far_side[cell_rows, cell_columns] = near_cells, far_cells

    # The band: full-resolution pixels whose bilinear value blends an impure low-resolution pixel (elsewhere
    # it blends pure pixels of one surface, exact on a plane), and whose nearest one is an edge pixel.
    impure = np.zeros((low_height + 1, low_width + 1), bool)
    impure[cell_rows, cell_columns] = ~pure
    blends_impure = impure[:-1, :-1] | impure[1:, :-1] | impure[:-1, 1:] | impure[1:, 1:]
    low_rows = np.minimum(np.arange(height) * low_height // height, low_height - 1)
    low_columns = np.minimum(np.arange(width) * low_width // width, low_width - 1)
    pixels = np.flatnonzero(
        blends_impure[np.ix_(_stencil(height, low_height)[0], _stencil(width, low_width)[0])]
        & edges[np.ix_(low_rows, low_columns)]
    )
    if not len(pixels):
        return
    rows, columns = np.divmod(pixels, width)
    cells = low_rows[rows] * low_width + low_columns[columns]
    # Where each band pixel's low-resolution pixel is in the list of edge pixels, whose models are computed.
    slot = np.zeros(inverse.size, np.int64)
    slot[cell_rows * low_width + cell_columns] = np.arange(len(cell_rows))
    pixel_slot = slot[cells]
    colour = photo.reshape(-1, 3).take(pixels, axis=0).astype(np.float32)
    bilinear = upsampled.ravel().take(pixels)
    near = _bilinear_at(near_side, rows, columns, height, width)
    far = _bilinear_at(far_side, rows, columns, height, width)
    position = np.clip((bilinear - far) / np.maximum(near - far, 1e-12), 0.0, 1.0)

    # First guess: the nearer side mean colour, ties broken by depth. Its means take whole low-resolution
    # pixels, whose colour mixes both sides where a structure is thinner than one, so their spread is not
    # to be trusted yet; a bare distance to the means still separates the sides.
    near_mean, far_mean = first_guess[0][pixel_slot], first_guess[1][pixel_slot]
    contrast = _squared_distance(near_mean, far_mean) + COLOUR_FLOOR
    vote = (_squared_distance(colour, far_mean) - _squared_distance(colour, near_mean)) / contrast
    is_near = np.clip(vote, -1.0, 1.0) + (2.0 * position - 1.0) > 0.0
    # Then each side's own pixels give it a mean and a spread: the log-likelihood ratio of two isotropic
    # Gaussian colour models, near against far, decides with the depth prior.
    (near_mean, near_variance), (far_mean, far_variance) = _labelled_sides(
        cells, colour, is_near, (low_height, low_width), cell_rows, cell_columns, first_guess
    )
    near_variance, far_variance = near_variance[pixel_slot], far_variance[pixel_slot]
    evidence = 1.5 * (
        _squared_distance(colour, far_mean[pixel_slot]) / far_variance
        - _squared_distance(colour, near_mean[pixel_slot]) / near_variance
        - np.log(near_variance / far_variance)
    )
    prior = np.where(both_seen[pixel_slot], DEPTH_PRIOR, THIN_DEPTH_PRIOR) * (2.0 * position - 1.0)
    is_near = np.clip(evidence, -COLOUR_CONFIDENCE, COLOUR_CONFIDENCE) + prior > 0.0
    is_near = _regularised(is_near, rows, columns, height, width)

    near = _unmixed_near(inverse, far_side, cells, is_near, near)
    # Where the sides' surfaces meet without a jump (a crease, as the wall meets the floor), the bilinear
    # depth is as good and stays smooth.
    snapped = np.where(is_near, near, far)
    upsampled.ravel()[pixels] = np.where(near - far > MIN_JUMP * (np.abs(near) + offset), snapped, bilinear)


def _regularised(is_near, rows, columns, height, width):
    """Labels with every band pixel flipped that no neighbour of the band shares its side with (a speck of
    foreground-like colour in a textured background, say), or that at least two more of its band neighbours
    disagree with than agree (a notch in a silhouette, where colour was ambiguous); a one-pixel line is kept."""
    labels = np.zeros((height + 2) * (width + 2), dtype=np.int8)  # 0: outside the band
    centre = (rows + 1) * (width + 2) + (columns + 1)
    own = np.where(is_near, 1, -1).astype(np.int8)
    labels[centre] = own
    agreeing = np.zeros(len(rows), dtype=np.int8)
    disagreeing = np.zeros(len(rows), dtype=np.int8)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbour = labels.take(centre + (dy * (width + 2) + dx))
                agreeing += neighbour == own
                disagreeing += neighbour == -own
    return np.where((agreeing == 0) | (disagreeing >= agreeing + 2), ~is_near, is_near)


def _unmixed_near(inverse, far_side, cells, is_near, near):
    """The near side's depth at the band pixels, un-mixed where a thin structure covers only part of a
    low-resolution pixel and no pixel of its neighbourhood shows it whole (see the module docstring)."""
    size = inverse.size
    # The area of each band cell that the near side covers (the band is made of whole low-resolution pixels).
    coverage = np.bincount(cells, is_near, size) / np.maximum(np.bincount(cells, None, size), 1)
    coverage = coverage.reshape(inverse.shape).astype(np.float32)
    widest = coverage.copy()
    for _, _, shifted in _windows(coverage):
        np.maximum(widest, shifted, out=widest)
    cover = coverage.ravel()[cells]
    low_far = far_side.ravel()[cells]
    thin = (cover >= MIN_COVERAGE) & (widest.ravel()[cells] < 1.0 - THIN_MARGIN)
    unmixed = low_far + (inverse.ravel()[cells] - low_far) / np.maximum(cover, MIN_COVERAGE)
    # Only ever nearer than the diluted value; MIN_COVERAGE bounds how far.
    return np.where(thin & (unmixed > near), unmixed, near)
