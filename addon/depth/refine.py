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
3. The two sides of each edge pixel, also at low resolution: their depths are the nearest (max) and
   farthest (min) inverse depth of its 3x3 neighbourhood, or of the 5x5 one where the 3x3 extreme is not at
   that side yet (a blur wider than a pixel); 3x3 first, because on a slanted surface the 5x5 extreme is two
   pixels' slope away. A low-resolution pixel within 5 % of the nearby jump from a side keeps its own value
   as that side's depth, so that a slanted surface stays continuous up to the edge (no terrace where the
   band starts). A first guess of their colours is the photo's mean colour (box-reduced to the map's
   size) over the neighbours whose depth lies within the top / bottom quarter of the span.
4. Snapping at the photo's resolution, on the band of pixels whose low-resolution pixel is an edge pixel
   (a small fraction of the photo; all per-pixel work happens there, on gathered arrays): every band pixel
   takes the depth of exactly one side. The decision adds the colour evidence to a prior from where the
   pixel's bilinear depth lies between the two sides (t in 0..1, log-odds 6 (2 t - 1)). The bilinear ramp of
   a box-averaged map passes its midpoint at the true edge, so the prior alone places an edge within about a
   pixel; colour decides wherever the two sides' colours differ clearly, which follows the photo's edge under
   a network's wider blur. Two passes: the first compares the bare distances to the two mean colours (which
   still separates the sides when a low-resolution pixel mixes both, as at a thin structure); then each
   side's colour model (mean and variance) comes from the band pixels the first pass gave it, and the
   log-likelihood ratio of two isotropic Gaussians, clipped to +-8, decides. A side with texture has a wide
   model, so its colours give weak evidence and depth decides: photo texture cannot move depth far, and a
   lone pixel that no neighbour agrees with (a speck of foreground colour in a textured background) is
   flipped back.
5. Thin structures (a pole narrower than a low-resolution pixel) appear in the coarse map at reduced
   contrast, mixed with the background. Where no low-resolution pixel nearby is covered whole by the near
   side, each one's near depth is un-mixed from the labels: its value is the area-weighted mean of the sides
   it covers, so the near depth is far + (value - far) / coverage (for a coverage of at least 0.2), which
   gives a thin pole its own depth instead of an in-between one. This assumes the coarse map averages the
   scene over its pixels' area, as a resized exact map does and as a network does at best.

Cost: the low-resolution work is O(map size x 25); the full-resolution work is one bilinear resize plus
O(band pixels). About 25-45 ms for a 1024x768 photo with a 256x256 map on one core of this machine (see
tools/bench_depth.py).

Outside the band the result is the plain bilinear upsampling. Nothing here produces NaN: non-finite input
pixels are replaced by the farthest finite value first, as `depth_files` does.
"""

import numpy as np
from PIL import Image

from .errors import DepthError

RADIUS = 2  # low-resolution neighbourhood: 5x5 covers a network's blur of a boundary
# An edge: the neighbourhood spans at least this relative jump in distance...
MIN_JUMP = 0.04
# ...and a plane fit leaves an RMS residual of at least this fraction of the span (0 for any slope; a step
# centred in the window leaves ~0.35, one at its rim ~0.2).
MIN_NON_AFFINE = 0.12
# Relative inverse depth 0 is the far plane, not infinity: this offset makes the jump relative to the
# distance under the default Near/Far (1/10: inverse 0.1 + 0.9 d, i.e. proportional to d + 0.11).
INVERSE_OFFSET = 0.11
SIDE_MARGIN = 0.05  # a 3x3 extreme this close (of the span) to the 5x5 one is at the same side
OWN_SIDE_MARGIN = 0.05  # a low-resolution pixel this close (of the span) to a side's extreme lies at that side
SIDE_QUARTER = 0.25  # neighbours within this fraction of the span from an extreme belong to that side
# Log-odds for the near side from the bilinear depth's position between the sides (x (2 t - 1), t in 0..1),
# against the colour evidence, clipped to COLOUR_CONFIDENCE: colour decides in the middle of a ramp, where a
# network's blur leaves the depth ambiguous, depth at its ends, where textured colour might mislead.
DEPTH_PRIOR = 6.0
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
        return (np.clip(np.nan_to_num(photo), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
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
            yield dy - radius, dx - radius, padded[dy:dy + height, dx:dx + width]


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


def _side_depths(inverse, nearest, farthest):
    """(h x w, h x w) the depth of the near and of the far side at each low-resolution pixel, to be sampled
    bilinearly: a pixel that lies at a side keeps its own value there, so that a slanted surface stays
    continuous up to the edge (no terrace where snapping starts); elsewhere the side's extreme over the 3x3
    neighbourhood where it lies at that side, else over the 5x5 one (a blur wider than a pixel). The 3x3 one
    first, since a slanted surface's extreme over 5x5 is two pixels' slope away."""
    close_nearest, close_farthest = inverse.copy(), inverse.copy()
    for _, _, shifted in _windows(inverse, radius=1):
        np.maximum(close_nearest, shifted, out=close_nearest)
        np.minimum(close_farthest, shifted, out=close_farthest)
    # Margins relative to the jump of the edge nearby: the band's outer pixels see only part of it.
    local_span = nearest - farthest
    span = local_span.copy()
    for _, _, shifted in _windows(local_span, radius=1):
        np.maximum(span, shifted, out=span)
    margin = SIDE_MARGIN * span
    near_side = np.where(close_nearest >= nearest - margin, close_nearest, nearest)
    far_side = np.where(close_farthest <= farthest + margin, close_farthest, farthest)
    at_side = OWN_SIDE_MARGIN * span
    return (np.where(inverse >= near_side - at_side, inverse, near_side),
            np.where(inverse <= far_side + at_side, inverse, far_side))


def _gathered_windows(values: np.ndarray, cell_rows: np.ndarray, cell_columns: np.ndarray):
    """Like `_windows` (edges extended), but only at the low-resolution pixels (cell_rows, cell_columns)."""
    pad = [(RADIUS, RADIUS), (RADIUS, RADIUS)] + [(0, 0)] * (values.ndim - 2)
    padded = np.pad(values, pad, mode="edge")
    padded_width = padded.shape[1]
    flat = padded.reshape((-1,) + values.shape[2:])
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


def _depth_sides(inverse, nearest, farthest, cell_colour, cell_rows, cell_columns):
    """First guess of the two sides' mean colours at the low-resolution pixels (cell_rows, cell_columns):
    the mean over the neighbours whose depth lies within the top / bottom quarter of the span."""
    span = (nearest - farthest)[cell_rows, cell_columns]
    near_limit = nearest[cell_rows, cell_columns] - SIDE_QUARTER * span
    far_limit = farthest[cell_rows, cell_columns] + SIDE_QUARTER * span
    # Colour and a count of 1 per pixel, summed together.
    counted = np.concatenate([cell_colour, np.ones(inverse.shape + (1,), np.float32)], axis=2)
    near_sum = np.zeros((len(cell_rows), 4), np.float32)
    far_sum = np.zeros_like(near_sum)
    for depth, values in zip(_gathered_windows(inverse, cell_rows, cell_columns),
                             _gathered_windows(counted, cell_rows, cell_columns)):
        near_sum += values * (depth >= near_limit)[:, None]
        far_sum += values * (depth <= far_limit)[:, None]
    # Each side holds at least the neighbourhood's own extreme, so the counts are never 0.
    return near_sum[:, :3] / near_sum[:, 3:], far_sum[:, :3] / far_sum[:, 3:]


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
        per_cell = np.stack([np.bincount(cells, weights * values, size) for values in (
            colour[:, 0], colour[:, 1], colour[:, 2], square, np.ones_like(square))], axis=1)
        sums = np.zeros((len(cell_rows), 5), np.float32)
        for values in _gathered_windows(per_cell.reshape(shape + (5,)).astype(np.float32), cell_rows, cell_columns):
            sums += values
        mean, variance = _colour_model(sums[:, :3], sums[:, 3], sums[:, 4])
        known = sums[:, 4] > 0
        models.append((np.where(known[:, None], mean, guess), np.where(known, variance, guess_spread)))
    return models


def _bilinear_at(values: np.ndarray, rows: np.ndarray, columns: np.ndarray, height: int, width: int):
    """Bilinear samples of low-resolution `values` (h x w) at full-resolution pixels (rows, columns) of an
    image height x width, with the pixel-centre convention of Pillow's resize."""
    low_height, low_width = values.shape
    # Per row and per column first: the band holds many pixels of each.
    y = np.clip((np.arange(height, dtype=np.float32) + 0.5) * (low_height / height) - 0.5, 0, low_height - 1)
    x = np.clip((np.arange(width, dtype=np.float32) + 0.5) * (low_width / width) - 0.5, 0, low_width - 1)
    y0 = np.minimum(y.astype(np.int64), max(low_height - 2, 0))
    x0 = np.minimum(x.astype(np.int64), max(low_width - 2, 0))
    fy, fx = (y - y0)[rows], (x - x0)[columns]
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
    cell_colour = np.asarray(Image.fromarray(photo).resize((low_width, low_height), Image.Resampling.BOX),
                             dtype=np.float32)
    first_guess = _depth_sides(inverse, nearest, farthest, cell_colour, cell_rows, cell_columns)

    # The band: full-resolution pixels whose (nearest) low-resolution pixel is an edge pixel.
    low_rows = np.minimum(np.arange(height) * low_height // height, low_height - 1)
    low_columns = np.minimum(np.arange(width) * low_width // width, low_width - 1)
    pixels = np.flatnonzero(edges[np.ix_(low_rows, low_columns)])
    rows, columns = np.divmod(pixels, width)
    cells = low_rows[rows] * low_width + low_columns[columns]
    # Where each band pixel's low-resolution pixel is in the list of edge pixels, whose models are computed.
    slot = np.zeros(inverse.size, np.int64)
    slot[cell_rows * low_width + cell_columns] = np.arange(len(cell_rows))
    pixel_slot = slot[cells]
    colour = photo.reshape(-1, 3).take(pixels, axis=0).astype(np.float32)
    bilinear = upsampled.ravel().take(pixels)
    side_depths = _side_depths(inverse, nearest, farthest)
    near = _bilinear_at(side_depths[0], rows, columns, height, width)
    far = _bilinear_at(side_depths[1], rows, columns, height, width)
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
        cells, colour, is_near, (low_height, low_width), cell_rows, cell_columns, first_guess)
    near_variance, far_variance = near_variance[pixel_slot], far_variance[pixel_slot]
    evidence = 1.5 * (_squared_distance(colour, far_mean[pixel_slot]) / far_variance
                      - _squared_distance(colour, near_mean[pixel_slot]) / near_variance
                      - np.log(near_variance / far_variance))
    prior = DEPTH_PRIOR * (2.0 * position - 1.0)
    is_near = np.clip(evidence, -COLOUR_CONFIDENCE, COLOUR_CONFIDENCE) + prior > 0.0
    is_near = _without_lone_pixels(is_near, rows, columns, height, width)

    near = _unmixed_near(inverse, nearest, farthest, cells, is_near, near)
    upsampled.ravel()[pixels] = np.where(is_near, near, far)


def _without_lone_pixels(is_near, rows, columns, height, width):
    """Labels with every band pixel that no neighbour of the band shares its side with flipped (a speck of
    foreground-like colour in a textured background, say); a one-pixel line is kept."""
    labels = np.zeros((height + 2) * (width + 2), dtype=np.int8)  # 0: outside the band
    centre = (rows + 1) * (width + 2) + (columns + 1)
    own = np.where(is_near, 1, -1).astype(np.int8)
    labels[centre] = own
    agreeing = np.zeros(len(rows), dtype=np.int8)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                agreeing += labels.take(centre + (dy * (width + 2) + dx)) == own
    return np.where(agreeing == 0, ~is_near, is_near)


def _unmixed_near(inverse, nearest, farthest, cells, is_near, near):
    """The near side's depth at the band pixels, un-mixed where a thin structure covers only part of a
    low-resolution pixel and no pixel of its neighbourhood shows it whole (see the module docstring)."""
    size = inverse.size
    # The area of each band cell that the near side covers (the band is made of whole low-resolution pixels).
    coverage = (np.bincount(cells, is_near, size) / np.maximum(np.bincount(cells, None, size), 1))
    coverage = coverage.reshape(inverse.shape).astype(np.float32)
    widest = coverage.copy()
    for _, _, shifted in _windows(coverage):
        np.maximum(widest, shifted, out=widest)
    cover = coverage.ravel()[cells]
    low_far = farthest.ravel()[cells]
    thin = (cover >= MIN_COVERAGE) & (widest.ravel()[cells] < 1.0 - THIN_MARGIN)
    unmixed = low_far + (inverse.ravel()[cells] - low_far) / np.maximum(cover, MIN_COVERAGE)
    # Only ever nearer than the diluted value; MIN_COVERAGE bounds how far.
    return np.where(thin & (unmixed > near), unmixed, near)
