"""A deterministic synthetic scene for novel-view benchmarks, traced in numpy from any camera (no Blender).

The scene lives in the photo camera's frame (camera at the origin looking down -Z, +Y up: the add-on's frame
convention): a brick wall at 9 m, a sloped tiled ground, two spheres, a box, a thin pole and a ring with a
hole, all at different depths. Every surface's colour is a procedural texture of the surface point alone
(shading baked in, view-independent), since the photo object is unlit and shows the photo's colours: the
ground truth from any viewpoint is then the colour the photo gave each surface point. Colours are display
values (sRGB, 0..1), written to the photo as they are.

`trace(camera, samples)` returns, per pixel, the colour (box-averaged over samples x samples sub-pixels), and
at the pixel centre the distance along the camera's view axis, the scene point hit and the object hit.
`Camera.pose` is camera-to-scene, in Blender's camera convention (looks down its local -Z, +Y up); its
focal length is 35 mm-equivalent over the longer side of the frame, as the add-on's camera uses it.
"""

from dataclasses import dataclass, field

import numpy as np

FOCAL_35MM = 28.0  # the photo camera: a phone's main camera
SENSOR_WIDTH = 36.0  # mm, spans the frame's longer side
NO_HIT = -1

WALL_Z = -9.0
GROUND = (np.array([0.0, 1.0, 0.06]) / np.linalg.norm([0.0, 1.0, 0.06]), -1.2)  # normal n, n.p = offset
LIGHT_DIR = np.array([-0.4, 0.8, 0.45]) / np.linalg.norm([-0.4, 0.8, 0.45])
SPHERES = (  # centre, radius, two colours of its stripes
    ((-1.15, -0.55, -3.6), 0.65, (0.85, 0.25, 0.18), (0.95, 0.75, 0.3)),
    ((1.45, -0.4, -5.6), 0.6, (0.2, 0.4, 0.85), (0.7, 0.85, 0.95)),
)
BOX = ((-0.25, -1.3, -6.6), (0.45, -0.2, -5.9))  # min, max corners
POLE = ((0.55, -3.0), 0.035, (-1.4, 1.25))  # (x, z) of the axis, radius, y range
RING = ((-0.35, 0.55, -4.4), 0.55, 0.33, np.radians(25.0))  # centre, outer and inner radius, turn about Y


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal_35mm: float = FOCAL_35MM
    pose: np.ndarray = field(default_factory=lambda: np.eye(4))  # camera-to-scene

    @property
    def focal_pixels(self):
        return max(self.width, self.height) * self.focal_35mm / SENSOR_WIDTH

    def resized(self, width, height):
        return Camera(width, height, self.focal_35mm, self.pose)

    def project(self, points):
        """Scene points (..., 3) to this camera's pixel coordinates (..., 2) (x right, y down, pixel
        centres at +0.5) and their distances along its view axis (...)."""
        rotation, position = self.pose[:3, :3], self.pose[:3, 3]
        local = (points - position) @ rotation
        depth = -local[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = self.width / 2 + self.focal_pixels * local[..., 0] / depth
            y = self.height / 2 - self.focal_pixels * local[..., 1] / depth
        return np.stack([x, y], axis=-1), depth


def look_at(position, target, up=(0.0, 1.0, 0.0)):
    """Camera-to-scene pose of a camera at `position` looking at `target`."""
    position, target = np.asarray(position, float), np.asarray(target, float)
    back = position - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, np.cross(back, right), back, position
    return pose


def translation(offset):
    pose = np.eye(4)
    pose[:3, 3] = offset
    return pose


def camera_rays(camera, samples):
    """Ray directions in the scene frame through samples² points per pixel, shape (H*s, W*s, 3), scaled so
    that the ray parameter is the distance along the camera's view axis."""
    u = (np.arange(camera.width * samples) + 0.5) / samples
    v = (np.arange(camera.height * samples) + 0.5) / samples
    xx, yy = np.meshgrid((u - camera.width / 2) / camera.focal_pixels, -(v - camera.height / 2) / camera.focal_pixels)
    local = np.stack([xx, yy, -np.ones_like(xx)], axis=-1)
    return local @ camera.pose[:3, :3].T


def _hash(*cells):
    """A deterministic pseudo-random value in 0..1 per integer cell."""
    value = np.zeros_like(cells[0], dtype=np.float64)
    for index, cell in enumerate(cells):
        value = value + cell * (12.9898, 78.233, 37.719)[index]
    return np.modf(np.abs(np.sin(value) * 43758.5453))[0]


def _wall_colour(p, n):
    row = np.floor(p[..., 1] / 0.3)
    shifted = p[..., 0] / 0.6 + 0.5 * (row % 2)
    column = np.floor(shifted)
    tint = _hash(row, column)
    brick = np.stack([0.55 + 0.25 * tint, 0.3 + 0.12 * tint, 0.22 + 0.1 * _hash(column, row)], axis=-1)
    # Distance in metres to the nearest joint; soft-edged mortar about 1.5 photo pixels wide at the wall,
    # so that resampling the photo does not alias it away (the benchmark measures geometry, not aliasing).
    joint = np.minimum(
        np.abs(np.modf(p[..., 1] / 0.3 + 100.5)[0] - 0.5) * 0.3, np.abs(np.modf(shifted + 100.5)[0] - 0.5) * 0.6
    )
    mortar = np.clip((0.035 - joint) / 0.025, 0, 1)[..., None]
    grain = 0.9 + 0.1 * np.sin(p[..., 0] * 23.0) * np.sin(p[..., 1] * 31.0)
    colour = mortar * (0.78, 0.76, 0.7) + (1 - mortar) * brick * grain[..., None]
    return colour * (0.85 + 0.15 * np.clip(p[..., 1] + 2.0, 0, 4)[..., None] / 4)


def _ground_colour(p, n):
    i, j = np.floor(p[..., 0] / 0.5), np.floor(p[..., 2] / 0.5)
    tile = _hash(i, j)
    checker = (i + j) % 2
    base = np.where(checker[..., None] > 0, (0.78, 0.74, 0.62), (0.36, 0.42, 0.33))
    return base * (0.8 + 0.2 * tile[..., None]) * (0.9 + 0.1 * np.sin(p[..., 0] * 9.0 + p[..., 2] * 7.0))[..., None]


def _lambert(n):
    return (0.35 + 0.65 * np.clip(n @ LIGHT_DIR, 0, 1))[..., None]


def _sphere_colour(centre, colours):
    def colour(p, n):
        latitude = np.arcsin(np.clip(n[..., 1], -1, 1))
        longitude = np.arctan2(n[..., 0], n[..., 2])
        stripes = (np.floor(latitude * 6 / np.pi) + np.floor(longitude * 8 / np.pi)) % 2
        return np.where(stripes[..., None] > 0, colours[0], colours[1]) * _lambert(n)

    return colour


def _box_colour(p, n):
    checker = (np.floor(p[..., 0] * 5) + np.floor(p[..., 1] * 5) + np.floor(p[..., 2] * 5)) % 2
    return np.where(checker[..., None] > 0, (0.3, 0.65, 0.55), (0.9, 0.9, 0.8)) * _lambert(n)


def _pole_colour(p, n):
    bands = np.floor(p[..., 1] * 5) % 2
    return np.where(bands[..., None] > 0, (0.92, 0.92, 0.9), (0.8, 0.1, 0.1)) * _lambert(n)


def _ring_colour(p, n):
    centre = np.asarray(RING[0])
    angle = np.arctan2(p[..., 1] - centre[1], p[..., 0] - centre[0])
    hue = np.floor((angle + np.pi) * 6 / (2 * np.pi))
    palette = np.array(
        [(0.95, 0.8, 0.1), (0.2, 0.7, 0.3), (0.15, 0.5, 0.9), (0.9, 0.3, 0.6), (0.95, 0.5, 0.1), (0.5, 0.3, 0.8)]
    )
    return palette[hue.astype(int) % 6]


def _plane(origin, rays, normal, offset):
    denominator = rays @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (offset - origin @ normal) / denominator
    return np.where(np.abs(denominator) > 1e-12, t, np.inf), np.broadcast_to(normal, rays.shape)


def _sphere(origin, rays, centre, radius):
    oc = origin - np.asarray(centre)
    a = np.einsum("...i,...i", rays, rays)
    b = rays @ oc
    disc = b * b - a * (oc @ oc - radius * radius)
    root = np.sqrt(np.maximum(disc, 0))
    t = np.where(disc > 0, (-b - root) / a, np.inf)
    normals = (origin + rays * np.where(np.isfinite(t), t, 0)[..., None] - centre) / radius
    return t, normals


def _box(origin, rays, low, high):
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (np.asarray(low) - origin) / rays
        t2 = (np.asarray(high) - origin) / rays
    t_near = np.nanmax(np.minimum(t1, t2), axis=-1)
    t_far = np.nanmin(np.maximum(t1, t2), axis=-1)
    t = np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)
    axis = np.nanargmax(np.minimum(t1, t2), axis=-1)
    normals = np.zeros(rays.shape)
    np.put_along_axis(normals, axis[..., None], -np.sign(np.take_along_axis(rays, axis[..., None], -1)), -1)
    return t, normals


def _pole(origin, rays, axis_xz, radius, y_range):
    ox, oz = origin[0] - axis_xz[0], origin[2] - axis_xz[1]
    dx, dz = rays[..., 0], rays[..., 2]
    a = dx * dx + dz * dz
    b = dx * ox + dz * oz
    disc = b * b - a * (ox * ox + oz * oz - radius * radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where((disc > 0) & (a > 0), (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    y = origin[1] + rays[..., 1] * np.where(np.isfinite(t), t, 0)
    t = np.where((y >= y_range[0]) & (y <= y_range[1]), t, np.inf)
    hit = origin + rays * np.where(np.isfinite(t), t, 0)[..., None]
    normals = np.stack([hit[..., 0] - axis_xz[0], np.zeros_like(t), hit[..., 2] - axis_xz[1]], axis=-1) / radius
    return t, normals


def _ring(origin, rays, centre, outer, inner, turn):
    normal = np.array([np.sin(turn), 0.0, np.cos(turn)])
    t, normals = _plane(origin, rays, normal, np.asarray(centre) @ normal)
    hit = origin + rays * np.where(np.isfinite(t), t, 0)[..., None]
    radius = np.linalg.norm(hit - centre, axis=-1)
    return np.where((radius <= outer) & (radius >= inner), t, np.inf), normals


def _surfaces():
    """(intersect(origin, rays) -> (t, normals), colour(points, normals)) for every object, in id order."""
    surfaces = [
        (lambda o, r: _plane(o, r, np.array([0.0, 0.0, 1.0]), WALL_Z), _wall_colour),
        (lambda o, r: _plane(o, r, GROUND[0], GROUND[1]), _ground_colour),
        (lambda o, r: _box(o, r, *BOX), _box_colour),
        (lambda o, r: _pole(o, r, *POLE), _pole_colour),
        (lambda o, r: _ring(o, r, *RING), _ring_colour),
    ]
    for centre, radius, *colours in SPHERES:
        surfaces.append((lambda o, r, c=centre, s=radius: _sphere(o, r, c, s), _sphere_colour(centre, colours)))
    return surfaces


def trace_rays(origin, rays):
    """Nearest hit per ray: ray parameter t (inf: none), object id (NO_HIT: none), colour (0..1)."""
    shape = rays.shape[:-1]
    nearest = np.full(shape, np.inf)
    object_id = np.full(shape, NO_HIT)
    colour = np.zeros((*shape, 3))
    for index, (intersect, paint) in enumerate(_surfaces()):
        t, normals = intersect(origin, rays)
        closer = (t > 1e-6) & (t < nearest)
        nearest[closer], object_id[closer] = t[closer], index
        points = origin + rays[closer] * t[closer][:, None]
        colour[closer] = np.clip(paint(points, normals[closer]), 0, 1)
    return nearest, object_id, colour


@dataclass
class Trace:
    colour: np.ndarray  # HxWx3 in 0..1 (display values), box-averaged over the sub-pixels
    depth: np.ndarray  # HxW distance along the camera's view axis at the pixel centre (inf: nothing hit)
    points: np.ndarray  # HxWx3 scene point hit at the pixel centre
    object_id: np.ndarray  # HxW index of the object hit at the pixel centre (NO_HIT: nothing)


def trace(camera, samples=3):
    origin = camera.pose[:3, 3]
    rays = camera_rays(camera, 1)
    depth, object_id, _ = trace_rays(origin, rays)
    points = origin + rays * np.where(np.isfinite(depth), depth, 0)[..., None]
    _, _, colour = trace_rays(origin, camera_rays(camera, samples))
    colour = colour.reshape(camera.height, samples, camera.width, samples, 3).mean(axis=(1, 3))
    return Trace(colour, depth, points, object_id)


def seen_from(camera, points, tolerance=1e-3):
    """Which scene points (..., 3) `camera` sees: inside its frame and not hidden behind another surface."""
    pixels, depth = camera.project(points)
    inside = (
        (depth > 0)
        & (pixels[..., 0] >= 0)
        & (pixels[..., 0] <= camera.width)
        & (pixels[..., 1] >= 0)
        & (pixels[..., 1] <= camera.height)
    )
    origin = camera.pose[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        rays = (points - origin) / depth[..., None]  # ray parameter = distance along the view axis
    nearest, _, _ = trace_rays(origin, np.where(inside[..., None], rays, camera.pose[:3, 2] * -1))
    return inside & (nearest >= depth * (1 - tolerance))
