"""Lists the bundled node-group file in the Asset Browser while the add-on is enabled.

The "Monocular Photo" group in node_assets/monocular_photo.blend is marked as an asset, but Blender only
shows assets from folders registered as asset libraries; extensions have no other way to contribute one.
The entry is added on register and removed on unregister, and a library the user made is never touched.
"""

import contextlib
from pathlib import Path

import bpy

from ..depth import paths

LIBRARY_NAME = "Monocular Photo"


def _ours(library) -> bool:
    return library.name == LIBRARY_NAME and Path(library.path) == paths.NODE_ASSETS_DIR


def add_asset_library():
    libraries = bpy.context.preferences.filepaths.asset_libraries
    if any(Path(library.path) == paths.NODE_ASSETS_DIR for library in libraries):
        return
    library = libraries.new(name=LIBRARY_NAME, directory=str(paths.NODE_ASSETS_DIR))
    # Dropping the group twice must reuse it, not duplicate it: 4.x needs APPEND_REUSE for that; 5.x no longer
    # offers it (its static RNA items still list it) and its default, PACK, already reuses.
    with contextlib.suppress(TypeError):
        library.import_method = 'APPEND_REUSE'


def remove_asset_library():
    libraries = bpy.context.preferences.filepaths.asset_libraries
    for library in [library for library in libraries if _ours(library)]:
        libraries.remove(library)
