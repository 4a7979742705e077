"""The dev build installs like any extension, runs from its installed copy, and uninstalls without a trace."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.blender, pytest.mark.slow]

INSTALL_CHECK = Path(__file__).with_name("install_check.py")


@pytest.fixture(scope="module")
def installed_run(dev_zip, tmp_path_factory) -> dict:
    """Install, enable, use, disable and uninstall the dev zip in a fresh bpy process; its JSON report."""
    work = tmp_path_factory.mktemp("install")
    photo = work.parent / f"{work.name}-photo.png"
    height, width = 48, 64
    gradient = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]  # dark left (far), bright right (near)
    Image.fromarray(np.broadcast_to(gradient, (height, width, 3)).copy()).save(photo)
    result = subprocess.run(
        [sys.executable, str(INSTALL_CHECK), str(dev_zip), str(photo), str(work)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"no report (exit status {result.returncode}):\n{result.stderr[-4000:]}"
    report = json.loads(lines[-1])
    report["log"] = result.stdout[-4000:] + result.stderr[-4000:]
    return report


def test_installs_and_enables_under_its_extension_name(installed_run):
    assert "installed" in installed_run["steps"], installed_run.get("error") or installed_run["log"]
    assert installed_run["install_result"] == ["FINISHED"], installed_run["log"]
    assert installed_run["enabled"], installed_run["log"]
    repo_dir = Path(installed_run["repo_dir"])
    assert Path(installed_run["module_file"]) == repo_dir / "monocular_photo" / "__init__.py"
    files = installed_run["package_files"]
    assert "blender_manifest.toml" in files and "node_assets/monocular_photo.blend" in files
    assert "onnx_models/registry.toml" in files
    assert installed_run["dev_build_marker"]
    # Blender extracted this Python's wheels (and only those that the add-on needs: never numpy).
    assert {"onnxruntime", "PIL", "OpenEXR"} <= {n.split(".")[0] for n in installed_run["wheel_site_top"]}
    assert not any(n.startswith("numpy") for n in installed_run["wheel_site_top"])


def test_operator_runs_from_the_installed_copy_with_the_bundled_wheels(installed_run):
    assert "operator" in installed_run["steps"], installed_run.get("error") or installed_run["log"]
    assert installed_run["operator_module"].startswith("bl_ext.mp_install_test.monocular_photo.")
    assert not installed_run["checkout_package_imported"]
    assert installed_run["operator_result"] == ["FINISHED"]
    assert installed_run["active_object"] in installed_run["new_objects"]
    assert installed_run["modifiers"] == ["NODES"]
    assert installed_run["vertex_count"] > 0
    # The dev build registers its test model under the default id; it ran through the bundled onnxruntime.
    assert installed_run["model_id"] == "midas_v21_small_256"
    wheel_site = Path(installed_run["wheel_site"])
    assert wheel_site in Path(installed_run["onnxruntime_file"]).parents
    assert wheel_site in Path(installed_run["pil_file"]).parents


def test_disable_and_uninstall_leave_nothing_behind(installed_run):
    assert "repo_removed" in installed_run["steps"], installed_run.get("error") or installed_run["log"]
    assert not installed_run["enabled_after_disable"]
    assert installed_run["uninstall_result"] == ["FINISHED"]
    assert not installed_run["package_dir_exists"]
    # Only Blender's own compatibility cache may remain: no package file, no extracted wheel, no user data.
    assert [f for f in installed_run["left_behind"] if not f.startswith("extensions/.cache/")] == []
