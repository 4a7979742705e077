"""Write node_assets/monocular_photo.blend: the "Monocular Photo" Geometry Nodes group, marked as an asset.

Run with the oldest Blender the extension supports, so that every supported version opens the file:

    .venv/bpy42/bin/python tools/release/build_node_assets.py
"""

import argparse
import os
import sys
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from addon import node_group
from addon.depth.paths import NODE_ASSET_BLEND

OLDEST_SUPPORTED = (4, 2)  # blender_version_min in blender_manifest.toml


def build(path: Path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    group = node_group.build_node_group()
    group.asset_mark()
    group.asset_data.description = group.description
    group.asset_data.author = "Monocular Photo"
    group.use_fake_user = True
    # Write to a temporary name, then rename: a failed build never leaves a broken asset file behind.
    temporary = path.with_name(path.stem + ".tmp.blend")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A whole (empty) file, not bpy.data.libraries.write(): a partial write flags the group as copy/paste
    # clipboard data, and Blender 5.x then warns about it every time a file that appended it is saved.
    bpy.ops.wm.save_as_mainfile(filepath=str(temporary), compress=True, copy=True)
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=NODE_ASSET_BLEND, help="where to write the .blend")
    args = parser.parse_args()
    if bpy.app.version[:2] != OLDEST_SUPPORTED:
        # A file saved by a newer Blender may not open in the oldest one the extension supports.
        parser.error(
            f"run with Blender {OLDEST_SUPPORTED[0]}.{OLDEST_SUPPORTED[1]} (.venv/bpy42), not {bpy.app.version_string}"
        )
    build(args.out)
    print(f"Blender {bpy.app.version_string}: wrote {args.out}")


if __name__ == "__main__":
    main()
