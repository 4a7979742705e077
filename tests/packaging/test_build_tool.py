"""tools/release/build_extension.py: what goes into the zip and the repository, and every way a build must stop."""

import ast
import hashlib
import json
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging_support import REPO_ROOT, WHEEL_CACHE, run_build, this_platform

from tests.tool_scripts import load_tool

build_extension = load_tool("release/build_extension")
BuildError = build_extension.BuildError

# Top-level module of each bundled distribution (what `import` sees).
TOP_LEVEL_MODULES = {
    "onnxruntime": "onnxruntime",
    "onnxruntime-gpu": "onnxruntime",
    "pillow": "PIL",
    "openexr": "OpenEXR",
}
# Modules every Blender provides to add-ons.
BLENDER_MODULES = {
    "bpy",
    "bpy_extras",
    "bpy_types",
    "mathutils",
    "bmesh",
    "gpu",
    "gpu_extras",
    "blf",
    "bl_math",
    "idprop",
    "aud",
    "imbuf",
    "addon_utils",
    "bl_ui",
    "bl_operators",
    "rna_prop_ui",
    "numpy",
}
DEFAULT_MODEL_ID = "midas_v21_small_256"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_in(zip_file: zipfile.ZipFile) -> dict:
    return tomllib.loads(zip_file.read("blender_manifest.toml").decode("utf-8"))


# --- A successful build -------------------------------------------------------------------------------------


def test_dev_zip_is_the_package_with_its_data_wheels_and_marker(dev_zip):
    version = tomllib.loads((REPO_ROOT / "blender_manifest.toml").read_text())["version"]
    assert dev_zip.name == f"monocular_photo-dev-{version}-{this_platform().replace('-', '_')}.zip"
    with zipfile.ZipFile(dev_zip) as zip_file:
        names = set(zip_file.namelist())
        manifest = _manifest_in(zip_file)
        dev_note = zip_file.read("DEV_BUILD").decode()

    package = {str(p.relative_to(REPO_ROOT / "addon")) for p in (REPO_ROOT / "addon").rglob("*.py")}
    assert package <= names, "every module of addon/ sits at the zip root"
    assert {"blender_manifest.toml", "node_assets/monocular_photo.blend", "onnx_models/registry.toml"} <= names
    assert not [n for n in names if n.startswith(("tests/", "tools/", "addon/")) or n.endswith(".pyc")]
    assert "test model" in dev_note

    assert manifest["id"] == "monocular_photo" and manifest["name"] == "Monocular Photo"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert manifest["permissions"]["files"]
    assert any("MiDaS" in line for line in manifest["copyright"])
    generated = manifest["build"]["generated"]
    assert generated["platforms"] == [this_platform()]
    wheels = [Path(w).name for w in generated["wheels"]]
    assert {f"wheels/{w}" for w in wheels} <= names
    for dist in ("onnxruntime", "pillow", "openexr"):
        for python_tag in ("cp311", "cp313"):  # Blender 4.2-5.0 and 5.1+
            assert [w for w in wheels if w.startswith(f"{dist}-") and f"-{python_tag}-" in w], (dist, python_tag)
    assert not [w for w in wheels if w.startswith("numpy")], "Blender ships numpy"
    assert all(
        any(build_extension.wheel_platform_matches(tag, this_platform()) for tag in w[:-4].split("-")[-1].split("."))
        for w in wheels
    )


def test_dev_zip_registers_its_test_model_as_the_default(dev_zip):
    with zipfile.ZipFile(dev_zip) as zip_file:
        registry = tomllib.loads(zip_file.read("onnx_models/registry.toml").decode("utf-8"))
        default = next(entry for entry in registry["model"] if entry["id"] == DEFAULT_MODEL_ID)
        model_bytes = zip_file.read(f"onnx_models/{default['file_name']}")
    assert default["file_name"] == build_extension.DEV_MODEL_FILE
    assert "test model" in default["name"].lower()
    assert default["sha256"] == _sha256(model_bytes)
    # The other registry models stay listed (downloadable by the user), without bundled files.
    source = tomllib.loads((REPO_ROOT / "onnx_models" / "registry.toml").read_text())
    assert [e["id"] for e in registry["model"]][1:] == [e["id"] for e in source["model"] if e["id"] != DEFAULT_MODEL_ID]


def test_repository_index_lists_the_zip_with_its_size_and_hash(dev_repository, dev_zip):
    index = json.loads((dev_repository / "index.json").read_text())
    (entry,) = index["data"]
    assert entry["id"] == "monocular_photo"
    assert entry["archive_url"] == f"./{dev_zip.name}"
    assert entry["archive_size"] == dev_zip.stat().st_size
    assert entry["archive_hash"] == "sha256:" + _sha256(dev_zip.read_bytes())
    assert entry["platforms"] == [this_platform()]
    assert entry["python_versions"] == ["3.11", "3.13"]
    assert not list(dev_repository.parent.glob(".*partial*")), "no partial build left next to the repository"


def test_every_third_party_import_of_the_addon_is_bundled():
    requirements = build_extension.COMMON_WHEELS + build_extension.FLAVOUR_WHEELS["cpu"]
    bundled = {TOP_LEVEL_MODULES[r.split("==")[0]] for r in requirements}
    imported = set()
    for path in (REPO_ROOT / "addon").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - BLENDER_MODULES
    assert third_party <= bundled, (
        f"add a wheel for {sorted(third_party - bundled)} to tools/release/build_extension.py"
    )


def test_cuda_flavour_bundles_the_gpu_runtime_for_linux_and_windows_only():
    cuda = [r.split("==")[0] for r in build_extension.FLAVOUR_WHEELS["cuda"]]
    assert "onnxruntime-gpu" in cuda and "onnxruntime" not in cuda
    assert {"nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12", "nvidia-cublas-cu12"} <= set(cuda)
    assert build_extension.FLAVOUR_PLATFORMS["cuda"] == ("linux-x64", "windows-x64")
    every = (*build_extension.COMMON_WHEELS, *(r for rs in build_extension.FLAVOUR_WHEELS.values() for r in rs))
    assert all("==" in r for r in every), "every bundled wheel is pinned"
    assert not [r for r in every if r.startswith("numpy")]


# --- Wheel tags ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "platform", "expected"),
    [
        ("manylinux_2_27_x86_64", "linux-x64", True),
        ("manylinux2014_x86_64", "linux-x64", True),
        ("manylinux_2_28_aarch64", "linux-x64", False),
        ("win_amd64", "windows-x64", True),
        ("win_amd64", "linux-x64", False),
        ("macosx_13_0_arm64", "macos-arm64", True),
        ("macosx_13_0_arm64", "macos-x64", False),
        ("macosx_10_9_universal2", "macos-x64", True),
        ("any", "windows-x64", True),
    ],
)
def test_wheel_platform_tags_follow_blenders_rules(tag, platform, expected):
    assert build_extension.wheel_platform_matches(tag, platform) is expected


@pytest.mark.parametrize(
    ("python_tags", "abi_tags", "python", "expected"),
    [
        ({"cp311"}, {"cp311"}, "3.11", True),
        ({"cp311"}, {"cp311"}, "3.13", False),
        ({"py3"}, {"none"}, "3.13", True),
        ({"py2", "py3"}, {"none"}, "3.11", True),
        ({"cp38"}, {"abi3"}, "3.13", True),
        ({"cp314"}, {"abi3"}, "3.13", False),
    ],
)
def test_wheel_python_tags(python_tags, abi_tags, python, expected):
    assert build_extension.wheel_python_matches(python_tags, abi_tags, python) is expected


# --- Builds that must stop ----------------------------------------------------------------------------------


def test_a_wheel_for_another_platform_is_refused(dev_zip):
    cached = next(WHEEL_CACHE.glob("onnxruntime-1.23.2-cp313-*manylinux*.whl"))
    with pytest.raises(BuildError, match="does not install on windows-x64"):
        build_extension.check_wheel(cached, "onnxruntime==1.23.2", "windows-x64", "3.13")
    with pytest.raises(BuildError, match="not for Python 3.11"):
        build_extension.check_wheel(cached, "onnxruntime==1.23.2", this_platform(), "3.11")


def test_pip_returning_the_wrong_platform_stops_the_download(tmp_path, monkeypatch):
    # pip asked for the Windows wheel while the build wants Linux: the check, not pip, must catch it.
    monkeypatch.setitem(build_extension.PIP_PLATFORMS, "linux-x64", ["win_amd64"])
    with pytest.raises(BuildError, match=r"openexr-3\.4\.3-cp313-cp313-win_amd64\.whl .*does not install on linux-x64"):
        build_extension.fetch_wheel(tmp_path, "openexr==3.4.3", "linux-x64", "3.13")
    assert not list(tmp_path.rglob("*.whl")), "the wrong wheel is not kept in the cache"


def test_a_failed_download_stops_with_the_reason(tmp_path):
    with pytest.raises(BuildError, match=r"Downloading pillow==0\.0\.1 for linux-x64 \(Python 3\.11\) failed: .+"):
        build_extension.fetch_wheel(tmp_path, "pillow==0.0.1", "linux-x64", "3.11")
    assert not list(tmp_path.rglob("*.whl"))


def test_numpy_is_never_bundled(tmp_path):
    with pytest.raises(BuildError, match="Blender ships it"):
        build_extension.fetch_wheel(tmp_path, "numpy==2.2.6", "linux-x64", "3.13")


def _registry_with_default(tmp_path: Path) -> Path:
    source = tmp_path / "source_models"
    source.mkdir()
    shutil.copy2(REPO_ROOT / "onnx_models" / "registry.toml", source / "registry.toml")
    return source


def test_a_model_whose_hash_matches_is_staged_with_the_registry(tmp_path):
    source = _registry_with_default(tmp_path)
    weights = b"stand-in weights whose hash the registry pins"
    registry = (source / "registry.toml").read_text()
    pinned = next(e for e in tomllib.loads(registry)["model"] if e["id"] == DEFAULT_MODEL_ID)["sha256"]
    (source / "registry.toml").write_text(registry.replace(pinned, _sha256(weights), 1))
    (source / f"{DEFAULT_MODEL_ID}.onnx").write_bytes(weights)
    assert build_extension.stage_real_model(tmp_path / "staged", source) == f"{DEFAULT_MODEL_ID}.onnx"
    assert (tmp_path / "staged" / f"{DEFAULT_MODEL_ID}.onnx").read_bytes() == weights
    assert (tmp_path / "staged" / "registry.toml").read_text() == (source / "registry.toml").read_text()


def test_a_model_whose_hash_does_not_match_is_refused(tmp_path):
    source = _registry_with_default(tmp_path)
    (source / f"{DEFAULT_MODEL_ID}.onnx").write_bytes(b"not the MiDaS weights")
    with pytest.raises(BuildError, match="does not match the SHA-256"):
        build_extension.stage_real_model(tmp_path / "staged", source)
    assert not (tmp_path / "staged").exists()


def test_a_missing_default_model_names_the_fetch_tool_and_the_dev_option(tmp_path):
    source = _registry_with_default(tmp_path)
    with pytest.raises(BuildError, match=r"is missing: fetch it with tools/release/fetch_models\.py.*--test-model"):
        build_extension.stage_real_model(tmp_path / "staged", source)


def test_cpu_build_without_the_real_model_fails_and_writes_nothing(tmp_path):
    if (REPO_ROOT / "onnx_models" / f"{DEFAULT_MODEL_ID}.onnx").is_file():
        pytest.skip("the real default model is present on this machine")
    stage, dist = tmp_path / "stage", tmp_path / "dist"
    result = run_build("--flavour", "cpu", "--platform", this_platform(), "--dist", str(dist), f"--stage-dir={stage}")
    assert result.returncode == 1
    assert result.stderr.startswith("build_extension: error: The default model file")
    assert not list(tmp_path.rglob("*.zip"))


def test_a_manifest_that_does_not_validate_stops_the_build_without_a_zip(tmp_path, dev_zip):
    manifest = tmp_path / "blender_manifest.toml"
    text = (REPO_ROOT / "blender_manifest.toml").read_text()
    manifest.write_text(re.sub(r"(?m)^tagline = .*$", 'tagline = "Ends with a full stop."', text), encoding="utf-8")
    dist = tmp_path / "dist"
    flavour = build_extension.Flavour(wheels="cpu", test_model=True)
    with pytest.raises(BuildError, match=r"(?s)does not validate.*tagline"):
        build_extension.build(
            flavour, [this_platform()], WHEEL_CACHE, dist, manifest=manifest, stage_dir=tmp_path / "stage"
        )
    assert not dist.exists() or not list(dist.rglob("*.zip"))


def test_a_manifest_must_not_set_what_the_build_generates(tmp_path):
    manifest = tmp_path / "blender_manifest.toml"
    source = (REPO_ROOT / "blender_manifest.toml").read_text()
    manifest.write_text('wheels = ["./wheels/x-1-py3-none-any.whl"]\n' + source)
    with pytest.raises(BuildError, match="must not set `wheels`"):
        build_extension.staged_manifest(manifest, ["linux-x64"], [])


def test_cuda_is_not_offered_for_macos():
    result = run_build("--flavour", "cuda", "--platform", "macos-arm64")
    assert result.returncode == 2
    assert "not built for macos-arm64" in result.stderr


def test_default_windows_zip_runs_on_any_directx_12_gpu_and_macos_on_coreml():
    platforms = build_extension.FLAVOUR_PLATFORMS["cpu"]
    runtime = {platform: build_extension.runtime_wheels("cpu", platform) for platform in platforms}
    assert [r.split("==")[0] for r in runtime["windows-x64"]] == ["onnxruntime-directml"]
    # The standard wheel carries CoreML on macOS; Linux's default stays CPU-only.
    standard = build_extension.FLAVOUR_WHEELS["cpu"]
    assert runtime["macos-arm64"] == runtime["macos-x64"] == runtime["linux-x64"] == standard
    assert build_extension.runtime_wheels("cuda", "windows-x64") == build_extension.FLAVOUR_WHEELS["cuda"]


@pytest.mark.parametrize(("python", "minimum", "maximum"), [("3.11", "4.2.0", "5.1.0"), ("3.13", "5.1.0", None)])
def test_a_cuda_zip_serves_the_blender_line_of_its_python(tmp_path, python, minimum, maximum):
    wheel = f"onnxruntime_gpu-1.23.2-cp{python.replace('.', '')}-cp{python.replace('.', '')}-win_amd64.whl"
    staged = build_extension.staged_manifest(
        REPO_ROOT / "blender_manifest.toml", ["windows-x64"], [wheel], build_extension.BLENDER_LINES[python]
    )
    manifest = tomllib.loads(staged)
    assert manifest["blender_version_min"] == minimum
    assert manifest.get("blender_version_max") == maximum
    assert "cuda" in build_extension.PER_BLENDER_LINE and "cpu" not in build_extension.PER_BLENDER_LINE
    assert set(build_extension.BLENDER_LINES) == set(build_extension.PYTHON_VERSIONS)
