"""Add-on preferences: the default model, the device that runs it, and where user models live."""

from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy.types import AddonPreferences

from .depth import models, paths

DEVICE_ITEMS = (
    ('AUTO', "Auto", "Use the GPU when onnxruntime can (CUDA; DirectML on Windows, CoreML on macOS), else the CPU"),
    ('CPU', "CPU", "Always run the model on the CPU"),
    ('CUDA', "CUDA", "Run the model on an NVIDIA GPU; falls back to the CPU with a warning"),
)

# Blender keeps only pointers into the strings of a dynamic enum's items, so every list handed out must outlive
# the menus showing it: one list per models folder and combination of installed models, kept while Blender runs.
_model_items: dict[tuple[Path, tuple[bool, ...]], list] = {}


def model_enum_items(_self, context):
    """Items for every `model` enum: the registry's models, the default first, each marked "not installed" when
    its file is in none of the folders searched (only whether it is there: its hash is checked when it runs)."""
    # Not get_preferences(): reading `default_model` would call this function again.
    addon = (context or bpy.context).preferences.addons.get(__package__)
    search_dirs = model_search_dirs(addon.preferences if addon else PreferenceValues())
    specs = models.list_models()
    installed = tuple(any(path.is_file() for path in spec.candidates(search_dirs)) for spec in specs)
    # Where to put a missing model: the first folder searched.
    folder = (search_dirs or (paths.MODELS_DIR,))[0]
    key = (folder, installed)
    if key not in _model_items:
        _model_items[key] = [_model_item(spec, present, folder) for spec, present in zip(specs, installed)]
    return _model_items[key]


def _model_item(spec, installed, folder):
    description = f"{spec.name} ({spec.license})"
    if installed:
        return (spec.id, spec.name, description)
    return (
        spec.id,
        f"{spec.name} (not installed)",
        f"{description}. Not installed: download {spec.file_name} from {spec.url} into {folder}",
    )


@dataclass(frozen=True)
class PreferenceValues:
    """What the operators read from the preferences; also the defaults when the add-on was registered
    without being enabled through addon_utils (tests, `import addon; addon.register()`)."""

    default_model: str = ""  # "" = the registry's default model
    device: str = 'AUTO'
    models_directory: str = ""  # "" = the extension's user folder


class MonocularPhotoPreferences(AddonPreferences):
    bl_idname = __package__

    default_model: EnumProperty(
        name="Default Model",
        description="Model used when an operator is not given one",
        items=model_enum_items,
    )
    device: EnumProperty(
        name="Device",
        description="Where the depth model runs",
        items=DEVICE_ITEMS,
        default='AUTO',
    )
    models_directory: StringProperty(
        name="User Models",
        description="Folder searched for model files (.onnx) besides the bundled ones; "
        "empty uses the extension's user folder",
        subtype='DIR_PATH',
    )

    def draw(self, _context):
        layout = self.layout
        if paths.DEV_BUILD_MARKER.is_file():
            layout.label(text="Development build: the bundled model is a test model, not MiDaS.", icon='ERROR')
        layout.use_property_split = True
        layout.prop(self, "default_model")
        layout.prop(self, "device")
        layout.prop(self, "models_directory")
        if not self.models_directory:
            row = layout.row()
            row.active = False
            row.label(text=str(user_models_dir(self) or paths.MODELS_DIR), icon='FILE_FOLDER')


def get_preferences(context=None) -> PreferenceValues:
    """The user's preferences, or the defaults when the add-on is registered but not enabled."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    if addon is None:
        return PreferenceValues()
    prefs = addon.preferences
    return PreferenceValues(prefs.default_model, prefs.device, prefs.models_directory)


def model_search_dirs(prefs) -> tuple[Path, ...]:
    """The folders where the engine looks for model files before the bundled `onnx_models/`."""
    folder = user_models_dir(prefs)
    return (folder,) if folder else ()


def user_models_dir(prefs) -> Path | None:
    """The folder where the user keeps model files, created on first use for an installed extension.

    None outside an installed extension (a source checkout, tests), where `extension_path_user` refuses
    the package name: there the checkout's `onnx_models/`, which the engine always searches, is the place.
    """
    if prefs.models_directory:
        return Path(bpy.path.abspath(prefs.models_directory))
    try:
        return Path(bpy.utils.extension_path_user(__package__, path="models", create=True))
    except ValueError:
        return None
