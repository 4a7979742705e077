"""Install a built extension zip into a fresh user extension repository, use it, remove it; print a JSON report.

    python install_check.py ZIP PHOTO WORK_DIR

Run in its own process by test_install.py: Blender reads BLENDER_USER_EXTENSIONS (and the other user folders,
all pointed into WORK_DIR so nothing of the real user is touched) when bpy is imported, so the environment is
set before `import bpy`. The packages the extension bundles as wheels are imported only from the folder
Blender extracts the extension's wheels into, never from the interpreter's own site-packages: the run proves
the zip carries everything the add-on needs. The last line of stdout is the JSON report.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys
import traceback
from pathlib import Path

ZIP, PHOTO, WORK = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
REPO = "mp_install_test"
PKG_ID = "monocular_photo"
MODULE = f"bl_ext.{REPO}.{PKG_ID}"
# Top-level modules of the bundled wheels (pillow -> PIL, openexr -> OpenEXR, onnxruntime[-gpu] -> onnxruntime).
BUNDLED_MODULES = {"onnxruntime", "PIL", "OpenEXR"}

EXTENSIONS_DIR = WORK / "extensions"
os.environ["BLENDER_USER_EXTENSIONS"] = str(EXTENSIONS_DIR)
os.environ["BLENDER_USER_CONFIG"] = str(WORK / "config")
os.environ["BLENDER_USER_SCRIPTS"] = str(WORK / "scripts")
os.environ["BLENDER_USER_DATAFILES"] = str(WORK / "datafiles")
WHEEL_SITE = EXTENSIONS_DIR / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


class BundledOnly(importlib.abc.MetaPathFinder):
    """Finds the bundled packages in the extension's wheel folder only; elsewhere they do not exist."""

    def find_spec(self, name, path, target=None):
        if "." in name or name not in BUNDLED_MODULES:
            return None  # submodules follow their parent's __path__, which is already in the wheel folder
        spec = importlib.machinery.PathFinder.find_spec(name, [str(WHEEL_SITE)])
        if spec is None:
            raise ModuleNotFoundError(f"{name} is not installed from the extension's wheels", name=name)
        return spec


sys.meta_path.insert(0, BundledOnly())

report = {"steps": []}


def step(name, **values):
    report["steps"].append(name)
    report.update(values)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


try:
    import bpy  # noqa: I001  (first: the bpy module sets up Blender's own modules, addon_utils among them)
    import addon_utils

    bpy.ops.preferences.extension_repo_add(name=REPO, type='LOCAL')
    repos = bpy.context.preferences.extensions.repos
    repo = repos[REPO]
    repo_dir = Path(repo.directory)
    step("repo_added", repo_dir=str(repo_dir))

    result = bpy.ops.extensions.package_install_files(filepath=str(ZIP), repo=REPO, enable_on_install=True)
    package_dir = repo_dir / PKG_ID
    step(
        "installed",
        install_result=sorted(result),
        enabled=MODULE in {a.module for a in bpy.context.preferences.addons},
        package_files=files_under(package_dir),
        wheel_site_top=sorted(p.name for p in WHEEL_SITE.iterdir()) if WHEEL_SITE.is_dir() else [],
    )

    module = sys.modules.get(MODULE)
    step(
        "module",
        module_file=getattr(module, "__file__", None),
        dev_build_marker=(package_dir / "DEV_BUILD").is_file(),
        operator_module=getattr(getattr(bpy.types, "MESH_OT_monocular_photo_add", None), "__module__", None),
    )

    objects_before = set(bpy.data.objects.keys())
    result = bpy.ops.mesh.monocular_photo_add(filepath=str(PHOTO), resolution=16)
    photo_object = bpy.context.active_object
    import onnxruntime
    import PIL

    step(
        "operator",
        operator_result=sorted(result),
        new_objects=sorted(set(bpy.data.objects.keys()) - objects_before),
        active_object=photo_object.name if photo_object else None,
        modifiers=[m.type for m in photo_object.modifiers] if photo_object else [],
        vertex_count=len(photo_object.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices)
        if photo_object
        else 0,
        model_id=getattr(getattr(photo_object, "monocular_photo", None), "model_id", None),
        provider=getattr(getattr(photo_object, "monocular_photo", None), "provider", None),
        onnxruntime_file=onnxruntime.__file__,
        pil_file=PIL.__file__,
        wheel_site=str(WHEEL_SITE),
        checkout_package_imported="addon" in sys.modules,
    )

    addon_utils.disable(MODULE, default_set=True)
    step("disabled", enabled_after_disable=MODULE in {a.module for a in bpy.context.preferences.addons})

    result = bpy.ops.extensions.package_uninstall(
        repo_directory=str(repo_dir), repo_index=list(repos).index(repo), pkg_id=PKG_ID
    )
    step("uninstalled", uninstall_result=sorted(result), package_dir_exists=package_dir.exists())
    bpy.ops.preferences.extension_repo_remove(index=list(repos).index(repo), remove_files=True)
    step("repo_removed", left_behind=files_under(WORK))
except Exception:
    report["error"] = traceback.format_exc()

print(json.dumps(report), flush=True)
