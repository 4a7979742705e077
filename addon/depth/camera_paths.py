"""Camera-move presets as plain maths: per-frame camera offsets in the photo camera's own frame.

The photo camera sits at the origin, looks down -Z with +Y up (Blender's camera convention). A path gives,
for every frame, the camera's position in that frame, its rotation (yaw about +Y, then pitch about +X) and a
factor on the photo's focal length. Frame 1 of every preset is the photo's own viewpoint.

Intensity 1.0 shifts the nearest point of the scene by about `SHIFT_PER_INTENSITY` of the frame width (the
size the 3D Photo Inpainting paper and DepthFlow use): the move is scaled by the nearest distance, so a
portrait at 1 m and a landscape at 1 km get the same look.
"""

from dataclasses import dataclass

import numpy as np

SHIFT_PER_INTENSITY = 0.04  # fraction of the frame width the nearest point moves at intensity 1
ONE_SHOT_PRESETS = ("ZOOM_IN", "ZOOM_OUT", "DOLLY_ZOOM")
LOOP_PRESETS = ("HORIZONTAL", "VERTICAL", "CIRCLE", "ORBIT")
PRESETS = ONE_SHOT_PRESETS + LOOP_PRESETS
MAX_PUSH = 0.8  # never push the camera further than this fraction of the nearest distance
MAX_ORBIT_ANGLE = np.radians(20.0)


@dataclass
class SceneScale:
    """What sizes a move: distances along the view axis and the frame's width at unit distance."""

    nearest: float  # distance of the nearest point (a low percentile, robust to stray vertices)
    subject: float  # distance of the subject an orbit turns around (e.g. the median distance)
    frame_width_per_distance: float  # frame width / distance = horizontal sensor extent / focal length


@dataclass
class CameraPath:
    """Per-frame arrays: position (N, 3) in the photo camera's frame, yaw and pitch (N,) in radians, lens (N,)."""

    position: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    lens_factor: np.ndarray
    loops: bool


def ease(t: np.ndarray) -> np.ndarray:
    """Quintic smootherstep: 0 -> 1 with zero velocity and acceleration at both ends (no jerk)."""
    return t * t * t * (t * (6.0 * t - 15.0) + 10.0)


def frame_times(frame_count: int, loops: bool) -> np.ndarray:
    """Normalised time of each frame: a loop's frame N+1 would be frame 1 again, a one-shot ends at 1."""
    if frame_count < 2:
        raise ValueError("A camera move needs at least 2 frames.")
    if loops:
        return np.arange(frame_count) / frame_count
    return np.linspace(0.0, 1.0, frame_count)


def push_distance(scale: SceneScale, intensity: float) -> float:
    """How far a zoom pushes in so that a point at the frame's edge, at the nearest distance, moves the shift.

    A point at image offset u (from the centre, in frame widths) and distance d moves to u * d / (d - z) when
    the camera pushes by z: at the edge (u = 1/2) the shift is z / (2 (d - z)).
    """
    k = 2.0 * SHIFT_PER_INTENSITY * intensity
    return min(scale.nearest * k / (1.0 + k), MAX_PUSH * scale.nearest)


def pull_distance(scale: SceneScale, intensity: float) -> float:
    """The zoom-out counterpart: pulling back by z moves the edge point by z / (2 (d + z))."""
    k = min(2.0 * SHIFT_PER_INTENSITY * intensity, 0.9)
    return scale.nearest * k / (1.0 - k)


def sway_amplitude(scale: SceneScale, intensity: float) -> float:
    """Sideways travel that shifts the nearest point by the shift: t / d in frame widths per distance."""
    return SHIFT_PER_INTENSITY * intensity * scale.nearest * scale.frame_width_per_distance


def orbit_angle(scale: SceneScale, intensity: float) -> float:
    """Arc angle around the subject that shifts the nearest point by the shift (the subject stays put).

    Turning by a about a pivot at distance p moves the camera sideways by about p a while turning it by a: a
    point at distance d shifts by a (p / d - 1) radians, relative to the subject.
    """
    relief = max(scale.subject / scale.nearest - 1.0, 1e-6)
    angle = SHIFT_PER_INTENSITY * intensity * scale.frame_width_per_distance / relief
    return float(min(angle, MAX_ORBIT_ANGLE))


def camera_path(preset: str, frame_count: int, scale: SceneScale, intensity: float = 1.0) -> CameraPath:
    """The camera path of `preset` over `frame_count` frames (see the module docstring for the frame)."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown camera move {preset!r}; use one of {', '.join(PRESETS)}.")
    loops = preset in LOOP_PRESETS
    t = frame_times(frame_count, loops)
    zeros = np.zeros_like(t)
    position = np.zeros((frame_count, 3))
    yaw, pitch, lens_factor = zeros.copy(), zeros.copy(), np.ones_like(t)
    turn = 2.0 * np.pi * t

    if preset == "ZOOM_IN":
        position[:, 2] = -push_distance(scale, intensity) * ease(t)
    elif preset == "ZOOM_OUT":
        position[:, 2] = pull_distance(scale, intensity) * ease(t)
    elif preset == "DOLLY_ZOOM":
        # Push in while widening the lens so that the nearest plane keeps its size: lens ∝ (d - z) / d.
        travel = push_distance(scale, intensity) * ease(t)
        position[:, 2] = -travel
        lens_factor = (scale.nearest - travel) / scale.nearest
    elif preset == "HORIZONTAL":
        position[:, 0] = sway_amplitude(scale, intensity) * np.sin(turn)
    elif preset == "VERTICAL":
        position[:, 1] = sway_amplitude(scale, intensity) * np.sin(turn)
    elif preset == "CIRCLE":
        # A circle through the start point, so frame 1 stays the photo's viewpoint.
        radius = sway_amplitude(scale, intensity)
        position[:, 0] = radius * np.sin(turn)
        position[:, 1] = radius * (np.cos(turn) - 1.0)
    elif preset == "ORBIT":
        # Swing along an arc around the subject and back: the camera keeps looking at the pivot.
        pivot = scale.subject
        yaw = orbit_angle(scale, intensity) * np.sin(turn)
        position[:, 0] = pivot * np.sin(yaw)
        position[:, 2] = -pivot * (1.0 - np.cos(yaw))
    return CameraPath(position, yaw, pitch, lens_factor, loops)


def nearest_and_subject(distances: np.ndarray, nearest_percentile: float = 2.0) -> tuple[float, float]:
    """(nearest, subject) distances from the distances of the scene's points along the view axis.

    A low percentile, not the minimum, so a few stray vertices do not decide the scale; the subject is the
    median, never nearer than the nearest.
    """
    distances = np.asarray(distances, dtype=np.float64)
    distances = distances[np.isfinite(distances) & (distances > 0.0)]
    if distances.size == 0:
        raise ValueError("The photo object has no geometry in front of its camera.")
    nearest = float(np.percentile(distances, nearest_percentile))
    subject = max(float(np.median(distances)), nearest)
    return nearest, subject


def fill_extent(photo_half_extent: tuple[float, float], frame_aspect: float, fit: bool) -> tuple[float, float]:
    """Half extents (x, y) of an output frame of aspect width / height taken from the photo's half extents.

    Filling keeps the frame inside the photo (a crop); fitting keeps the photo inside the frame (letterbox).
    """
    half_x, half_y = photo_half_extent
    photo_aspect = half_x / half_y
    wider = frame_aspect >= photo_aspect
    if wider != fit:  # fill a wider frame, or fit a narrower one: the photo's width decides
        return half_x, half_x / frame_aspect
    return half_y * frame_aspect, half_y
