"""Photos to camera-move clips, with Blender as a Python module (bpy): one H.264 MP4 per photo.

    python tools/photo_to_video.py SRC... --out DIR [--preset zoom-in|zoom-out|dolly-zoom|horizontal|vertical|
        circle|orbit] [--intensity X] [--seconds S] [--fps N] [--size WxH] [--fit]
        [--model ID | --model-file PATH | --depth-dir DIR] [--depth-kind INVERSE|DEPTH] [--focal-length MM]
        [--overwrite]

The same arguments as `blender --command monocular_photo video ...` (the extension's command line): it imports
the add-on from this checkout, registers it and runs the same function. Writes DIR/<photo stem>.mp4, never
replaces a clip without --overwrite. Exit status: 0 all written, 1 some photos failed, 2 usage error.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # import the add-on package from the checkout

import bpy

import addon
from addon import video_cli


def main(argv=None) -> int:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    try:
        return video_cli.main(sys.argv[1:] if argv is None else argv)
    finally:
        addon.unregister()


if __name__ == "__main__":
    sys.exit(main())
