"""Where the extension's bundled data lives, in a source checkout and in an installed extension.

Installed, the build step stages the package so that `node_assets/` and `onnx_models/` sit beside the add-on's
package (the parent of this `depth/` package); in a source checkout they sit one level up, beside `addon/`.
Nothing here imports bpy: the depth engine finds its model registry here too.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the add-on's package


def _data_root() -> Path:
    if (PACKAGE_DIR / "blender_manifest.toml").is_file():
        return PACKAGE_DIR
    return PACKAGE_DIR.parent


DATA_ROOT = _data_root()
NODE_ASSETS_DIR = DATA_ROOT / "node_assets"
NODE_ASSET_BLEND = NODE_ASSETS_DIR / "monocular_photo.blend"
MODELS_DIR = DATA_ROOT / "onnx_models"
MODEL_REGISTRY = MODELS_DIR / "registry.toml"
# Written by `tools/release/build_extension.py --flavour dev`: that build bundles a test model, not real weights.
DEV_BUILD_MARKER = PACKAGE_DIR / "DEV_BUILD"
