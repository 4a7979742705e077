"""Photos to camera-move clips with no UI: `blender --command monocular_photo video ...` and tools/photo_to_video.py.

Each photo is built in a scene of its own (photo object, camera move, render settings), rendered to
`DIR/<photo stem>.mp4` and the scene removed again, so photos are independent and a run is idempotent: a
render farm can run one task per photo.
"""

import argparse
import os
import sys
from pathlib import Path

import bpy

from .camera_moves import key_camera_move
from .depth import DepthError, models
from .depth.camera_paths import PRESETS
from .depth.depth_files import FORMATS
from .depth.images import collect_photos
from .photo_object import photo_size
from .video import configure_render, default_video_size, frame_camera, render_mp4, use_full_mesh_resolution

PRESET_CHOICES = {preset.lower().replace("_", "-"): preset for preset in PRESETS}
USAGE = "monocular_photo video SRC... --out DIR [options]"


class UsageError(Exception):
    """Bad arguments: exit status 2."""


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Turn photos into camera-move clips (H.264 MP4).")
    parser.add_argument("sources", nargs="+", metavar="SRC", help="photos or folders of photos (non-recursive)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write DIR/<photo stem>.mp4 into")
    parser.add_argument("--preset", choices=list(PRESET_CHOICES), default="zoom-in")
    parser.add_argument("--intensity", type=float, default=1.0, help="1: the nearest point shifts ~4%% of the frame")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", help="WxH in pixels (default: the photo's aspect, 1080 on the longer side)")
    parser.add_argument("--fit", action="store_true", help="letterbox instead of filling the frame")
    depth = parser.add_mutually_exclusive_group()
    depth.add_argument("--model", help=f"registry model id (default {models.DEFAULT_MODEL_ID})")
    depth.add_argument("--model-file", type=Path, help="a custom .onnx depth model")
    depth.add_argument("--depth-dir", type=Path, help="depth maps named after each photo (tools/depth_solve.py)")
    parser.add_argument("--depth-kind", choices=["INVERSE", "DEPTH"], default="INVERSE")
    parser.add_argument("--focal-length", type=float, help="35 mm-equivalent focal length (default: EXIF, else 35)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing clips")
    return parser


def parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f'--size "{text}" is not WIDTHxHEIGHT, e.g. 1080x1920.') from None
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise UsageError(f"--size {text}: H.264 needs even sides of at least 2 pixels.")
    return width, height


def check_arguments(args) -> None:
    """Raise UsageError for arguments no photo could succeed with."""
    if args.seconds <= 0.0:
        raise UsageError(f"--seconds must be more than 0 (got {args.seconds:g}).")
    if args.fps < 1:
        raise UsageError(f"--fps must be at least 1 (got {args.fps}).")
    if args.focal_length is not None and args.focal_length <= 0.0:
        raise UsageError(f"--focal-length must be positive (got {args.focal_length:g}).")
    if args.model is not None:
        try:
            models.get_model(args.model)
        except DepthError as exc:
            raise UsageError(str(exc)) from None
    if args.model_file is not None and not args.model_file.is_file():
        raise UsageError(f'--model-file "{args.model_file}" does not exist.')
    if args.depth_dir is not None and not args.depth_dir.is_dir():
        raise UsageError(f'--depth-dir "{args.depth_dir}" is not a folder.')
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f'Cannot create the output folder "{args.out}": {exc.strerror or exc}.') from None
    if not os.access(args.out, os.W_OK):
        raise UsageError(f'The output folder "{args.out}" is not writable.')


def depth_map_for(photo: Path, depth_dir: Path) -> Path:
    """The depth map tools/depth_solve.py wrote for `photo` into `depth_dir` (any of its formats)."""
    for suffix in FORMATS.values():
        candidate = depth_dir / f"{photo.stem}{suffix}"
        if candidate.is_file() and candidate.resolve() != photo.resolve():
            return candidate
    names = ", ".join(photo.stem + suffix for suffix in FORMATS.values())
    raise FileNotFoundError(f'no depth map for "{photo.name}" in "{depth_dir}" (looked for {names}).')


def _show_scene(scene) -> None:
    """Make `scene` the window's (when Blender has one), so that what runs in it sees it as the scene."""
    window = bpy.context.window or next(iter(bpy.context.window_manager.windows), None)
    if window is not None:
        window.scene = scene


def make_clip(photo: Path, target: Path, args) -> Path:
    """Build `photo`'s object in a fresh scene, key the move, render `target`; the scene is removed afterwards."""
    if not photo.is_file():
        raise FileNotFoundError(f'"{photo}" does not exist.')
    if target.exists() and not args.overwrite:
        raise FileExistsError(f'"{target}" already exists (use --overwrite to replace it).')
    previous = bpy.context.scene
    scene = bpy.data.scenes.new(f"{photo.stem} video")
    _show_scene(scene)
    try:
        # Also through the context: `blender -b --command` may run with no window, hence no screen members.
        with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0], selected_objects=[]):
            return _build_and_render(photo, target, scene, args)
    finally:
        _show_scene(previous)
        _remove_scene(scene)


def _build_and_render(photo: Path, target: Path, scene, args) -> Path:
    options = {"filepath": str(photo), "add_camera": True}
    if args.depth_dir is not None:
        options.update(depth_filepath=str(depth_map_for(photo, args.depth_dir)), depth_kind=args.depth_kind)
    elif args.model_file is not None:
        options["model_filepath"] = str(args.model_file)
    elif args.model is not None:
        options["model"] = args.model
    if args.focal_length is not None:
        options["focal_length"] = args.focal_length
    bpy.ops.mesh.monocular_photo_add(**options)
    obj = scene.view_layers[0].objects.active
    use_full_mesh_resolution(obj)
    camera = key_camera_move(
        bpy.context, obj, PRESET_CHOICES[args.preset], args.intensity, args.seconds, args.fps, set_frame_range=True
    )
    scene.camera = camera
    size = args.size or default_video_size(*photo_size(obj))
    configure_render(scene, size, args.fps)
    frame_camera(camera, obj, size, fit=args.fit)
    return render_mp4(scene, target, overwrite=args.overwrite)


def _remove_scene(scene) -> None:
    """Remove the scene, its objects and the data only they used.

    batch_remove, not scenes.remove: the latter crashes Blender 4.2 when the context has no window.
    """
    bpy.data.batch_remove(ids=(*scene.objects, scene))
    bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=False, do_recursive=True)


def _reason(photo: Path, exc: Exception) -> str:
    message = str(exc).removeprefix("Error: ").strip() or exc.__class__.__name__
    return message if photo.name in message else f'"{photo.name}": {message}'


def main(argv, prog: str = "photo_to_video") -> int:
    """Run the command; returns the exit status: 0 all clips written, 1 some failed, 2 usage error."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse printed the usage and why
        return 2 if exit_.code else 0
    try:
        args.size = parse_size(args.size)
        check_arguments(args)
        inputs = collect_photos(args.sources)
        if not inputs:
            raise UsageError(f"no photos found in {', '.join(args.sources)}.")
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2

    failures = 0
    for number, photo in enumerate(inputs, 1):
        target = args.out / f"{photo.stem}.mp4"
        print(f"[{number}/{len(inputs)}] {photo.name} -> {target}", file=sys.stderr, flush=True)
        try:
            make_clip(photo, target, args)
        except KeyboardInterrupt:
            print("interrupted: finished clips are kept, none is left half-written", file=sys.stderr)
            return 130
        except Exception as exc:  # one bad photo, whatever the cause, must not stop the batch
            print(f"failed: {_reason(photo, exc)}", file=sys.stderr, flush=True)
            failures += 1
    written = len(inputs) - failures
    print(
        f"{written} clip{'s' * (written != 1)} written to {args.out}"
        + (f", {failures} photo{'s' * (failures != 1)} failed" if failures else "")
    )
    return 1 if failures else 0


def command_handler(argv) -> int:
    """`blender --command monocular_photo video ...`."""
    if not argv or argv[0] != "video":
        print(f"usage: blender --command {USAGE}", file=sys.stderr)
        return 2
    return main(list(argv[1:]), prog="blender --command monocular_photo video")
