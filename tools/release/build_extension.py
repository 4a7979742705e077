"""Build the Monocular Photo extension: one zip per platform, validated, plus a static extension repository.

    python tools/release/build_extension.py [--flavour cpu|cuda|dev] [--platform linux-x64 ...] [--test-model]

Flavours:
- cpu  (default) onnxruntime (with CoreML on macOS), onnxruntime-directml on Windows (any DirectX 12 GPU, and
                 the CPU); linux-x64, windows-x64, macos-arm64, macos-x64. Each zip serves every Blender line.
- cuda           onnxruntime-gpu and the NVIDIA CUDA 12 / cuDNN 9 runtime wheels; linux-x64, windows-x64. One
                 zip per platform and Blender line (`...-blender4.2-5.0-...` with Python 3.11 wheels,
                 `...-blender5.1-and-newer-...` with 3.13), its manifest's blender_version_min/max set to that line.
- dev            like cpu, but bundles a tiny test model (tools/make_test_model.py) registered under the default
                 model's id, for machines where the real weights cannot be fetched. Its zips are named
                 `monocular_photo-dev-...` and carry a `DEV_BUILD` file that the add-on shows in its UI.
`--test-model` bundles the test model into the other flavours too: `--flavour cpu --test-model` is the dev
flavour, `--flavour cuda --test-model` builds `monocular_photo-cuda-dev-...` zips into dist/cuda-dev/.

Steps: download the wheels with `pip download --only-binary=:all:` for Python 3.11 (Blender 4.2-5.0) and 3.13
(Blender 5.1+) into a cache (build/wheel-cache, reused when present, never required), checking every wheel's
platform and Python tags; check the bundled model's SHA-256 against onnx_models/registry.toml; stage the
extension in build/stage-<flavour>/ (the `addon/` package at the zip root, beside the manifest and the data
folders, which is where addon/depth/paths.py looks when installed); build with the extension CLI that ships in the
bpy wheel (`build --split-platforms`); validate each zip; write `index.json` (`server-generate`) next to the
zips in dist/<flavour>/. A user adds that folder's index.json (or its URL once hosted) in
Preferences > Get Extensions > Repositories.

Any failure (a wheel download that fails or returns the wrong platform, a model whose hash does not match, a
manifest that does not validate) stops the build with one clear message, exit status 1, and leaves the
previous dist/<flavour>/ untouched: nothing is written there until every zip has been built and validated.
numpy is never bundled: every Blender ships it. Run with a Python >= 3.11 that has pip (e.g. the test venvs).
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_ID = "monocular_photo"
MANIFEST_NAME = "blender_manifest.toml"
DEV_MARKER_NAME = "DEV_BUILD"
DEV_MODEL_FILE = "test_dev_model.onnx"

# Python versions of the Blender lines we support: 4.2-5.0 ship 3.11, 5.1+ ship 3.13.
PYTHON_VERSIONS = ("3.11", "3.13")
# The Blender versions each Python serves, as the manifest's blender_version_min and (exclusive) _max; "" for
# no maximum. Flavours with big wheels build one zip per line with only that line's wheels.
BLENDER_LINES = {"3.11": ("4.2.0", "5.1.0"), "3.13": ("5.1.0", "")}

# Blender platform -> the wheel platform tags pip may pick for it. pip does not expand manylinux tags, so list
# the glibc versions Blender's own minimum (2.28) accepts; pip expands macOS versions downwards by itself.
# macOS 13 is the oldest macOS onnxruntime 1.23 publishes wheels for.
PIP_PLATFORMS = {
    "linux-x64": [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_13_0_arm64"],
    "macos-x64": ["macosx_13_0_x86_64"],
}

# Everything the add-on imports that Blender does not ship. onnxruntime declares coloredlogs, flatbuffers,
# packaging, protobuf and sympy, but `import onnxruntime` + InferenceSession.run need none of them (checked
# with those imports blocked), so they stay out: only what runs is bundled.
COMMON_WHEELS = ("pillow==11.3.0", "openexr==3.4.3")
FLAVOUR_WHEELS = {
    "cpu": ("onnxruntime==1.23.2",),
    "cuda": (
        "onnxruntime-gpu==1.23.2",
        # onnxruntime-gpu 1.23 is built for CUDA 12.x and cuDNN 9.x; these are the libraries its
        # `preload_dlls()` loads from site-packages/nvidia/ (its `cuda` and `cudnn` extras), plus what those
        # wheels declare themselves: cuBLAS (cuDNN) and nvJitLink (cuFFT). One CUDA release (12.8) throughout.
        "nvidia-cuda-runtime-cu12==12.8.90",
        "nvidia-cuda-nvrtc-cu12==12.8.93",
        "nvidia-cublas-cu12==12.8.4.1",
        "nvidia-cufft-cu12==11.3.3.83",
        "nvidia-curand-cu12==10.3.9.90",
        "nvidia-cudnn-cu12==9.10.2.21",
        "nvidia-nvjitlink-cu12==12.8.93",
    ),
}
# Per-platform replacements of a flavour's runtime wheels: the default Windows package runs on any DirectX 12
# GPU (NVIDIA, AMD, Intel) through DirectML, and still on the CPU; onnxruntime-directml has no 1.23.2. macOS
# needs none: the standard onnxruntime wheel carries the CoreML provider.
PLATFORM_WHEELS = {
    ("cpu", "windows-x64"): ("onnxruntime-directml==1.23.0",),
}
# Flavours whose zips hold the wheels of one Python (one Blender line) each: the CUDA libraries are ~300 MB
# per Python version, which a zip for both lines would carry twice.
PER_BLENDER_LINE = {"cuda"}
FLAVOUR_PLATFORMS = {
    "cpu": ("linux-x64", "windows-x64", "macos-arm64", "macos-x64"),
    "cuda": ("linux-x64", "windows-x64"),
}
NEVER_BUNDLED = {"numpy"}  # Blender ships it; a second copy would shadow Blender's own and break bpy.


class BuildError(Exception):
    """A reason to stop the build; its message is printed as is."""


@dataclass(frozen=True)
class Flavour:
    wheels: str  # "cpu" or "cuda": which runtime wheels
    test_model: bool  # bundle the tiny test model as the default model

    @property
    def name(self) -> str:
        if self.test_model:
            return "dev" if self.wheels == "cpu" else f"{self.wheels}-dev"
        return self.wheels


# --------------------------------------------------------------------------------------------------------------
# Wheels


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheel_tags(filename: str) -> tuple[str, str, set[str], set[str], set[str]]:
    """(distribution, version, python tags, abi tags, platform tags) of a wheel file name."""
    parts = filename.removesuffix(".whl").split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise BuildError(f"{filename} is not a wheel file name.")
    python_tags, abi_tags, platform_tags = (set(part.split(".")) for part in parts[-3:])
    return _normalise(parts[0]), parts[1], python_tags, abi_tags, platform_tags


def wheel_platform_matches(platform_tag: str, platform: str) -> bool:
    """Whether a wheel platform tag installs on a Blender platform, by the rules Blender itself applies."""
    if platform_tag == "any":
        return True
    system, arch = platform.split("-")
    if system == "linux":
        machine = {"x64": "_x86_64", "arm64": "_aarch64"}[arch]
        return platform_tag.startswith("manylinux") and platform_tag.endswith(machine)
    if system == "windows":
        return platform_tag == {"x64": "win_amd64", "arm64": "win_arm64"}[arch]
    if system == "macos":
        return platform_tag.startswith("macosx_") and platform_tag.endswith(
            ("_universal2", {"x64": "_x86_64", "arm64": "_arm64"}[arch])
        )
    return False


def wheel_python_matches(python_tags: set[str], abi_tags: set[str], python: str) -> bool:
    """Whether a wheel loads on CPython `python` ("3.11"): its own version, any Python 3, or an older stable ABI."""
    major, minor = (int(n) for n in python.split("."))
    if python_tags & {f"cp{major}{minor}", f"py{major}{minor}", f"py{major}"}:
        return True
    older_cp = {f"cp{major}{m}" for m in range(minor)}
    return "abi3" in abi_tags and bool(python_tags & older_cp)


def check_wheel(path: Path, requirement: str, platform: str, python: str) -> None:
    """Raise BuildError unless `path` is the wheel of `requirement` for `platform` and `python`."""
    name, version = requirement.split("==")
    dist, wheel_version, python_tags, abi_tags, platform_tags = _wheel_tags(path.name)
    if dist != _normalise(name) or wheel_version != version:
        raise BuildError(f"pip returned {path.name} for {requirement}: wrong package or version.")
    if not any(wheel_platform_matches(tag, platform) for tag in platform_tags):
        raise BuildError(
            f"pip returned {path.name} for {requirement} on {platform}: its platform tag "
            f"{'.'.join(sorted(platform_tags))} does not install on {platform}."
        )
    if not wheel_python_matches(python_tags, abi_tags, python):
        raise BuildError(f"pip returned {path.name} for {requirement}: it is not for Python {python}.")
    if not zipfile.is_zipfile(path):
        raise BuildError(f"{path} is not a valid wheel (not a zip archive); delete it and build again.")


def _cached_wheel(cache: Path, requirement: str, platform: str, python: str) -> Path | None:
    name, version = requirement.split("==")
    for path in sorted(cache.glob(f"{_normalise(name)}-{version}-*.whl")):
        try:
            check_wheel(path, requirement, platform, python)
        except BuildError:
            continue
        return path
    return None


def fetch_wheel(cache: Path, requirement: str, platform: str, python: str) -> Path:
    """The wheel of `requirement` for `platform` and `python`, from the cache or downloaded into it."""
    if requirement.split("==")[0].lower() in NEVER_BUNDLED:
        raise BuildError(f"{requirement} must not be bundled: Blender ships it.")
    if (cached := _cached_wheel(cache, requirement, platform, python)) is not None:
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as download_dir:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "--only-binary=:all:",
            "--no-deps",
            "--implementation",
            "cp",
            "--python-version",
            python,
            *(arg for tag in PIP_PLATFORMS[platform] for arg in ("--platform", tag)),
            "--dest",
            download_dir,
            requirement,
        ]
        print(f"  downloading {requirement} for {platform}, Python {python}", flush=True)
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(download_dir).glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            reason = (result.stderr.strip().splitlines() or ["no wheel was written"])[-1]
            raise BuildError(f"Downloading {requirement} for {platform} (Python {python}) failed: {reason}")
        check_wheel(wheels[0], requirement, platform, python)
        target = cache / wheels[0].name
        os.replace(wheels[0], target)
    return target


def runtime_wheels(wheels: str, platform: str) -> tuple[str, ...]:
    """The requirements of the `wheels` flavour ("cpu", "cuda") on `platform`, besides COMMON_WHEELS."""
    return PLATFORM_WHEELS.get((wheels, platform), FLAVOUR_WHEELS[wheels])


def collect_wheels(flavour: Flavour, platforms: list[str], cache: Path, pythons=PYTHON_VERSIONS) -> list[Path]:
    """Every wheel the flavour needs on `platforms`, for each Python of `pythons`, without duplicates."""
    wheels: dict[str, Path] = {}
    for platform in platforms:
        for python in pythons:
            for requirement in (*runtime_wheels(flavour.wheels, platform), *COMMON_WHEELS):
                path = fetch_wheel(cache, requirement, platform, python)
                wheels[path.name] = path
    return [wheels[name] for name in sorted(wheels)]


# --------------------------------------------------------------------------------------------------------------
# Model


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _registry(path: Path = ROOT / "onnx_models" / "registry.toml") -> tuple[dict, str]:
    """The parsed registry and the default model id (from the depth engine, the single source of truth)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tools may import the package from the checkout
    try:
        from addon.depth.models import DEFAULT_MODEL_ID
    except ImportError as exc:
        raise BuildError(
            f"The depth engine cannot be imported ({exc}): run this tool with a Python that has the "
            "test requirements, e.g. .venv/bpy52/bin/python tools/release/build_extension.py"
        ) from exc

    if not path.is_file():
        raise BuildError(f"The model registry {path} is missing.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), DEFAULT_MODEL_ID
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"The model registry {path} is not valid TOML ({exc}).") from exc


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise BuildError(f"Cannot write {value!r} into the staged registry.")


def _registry_toml(registry: dict) -> str:
    lines = ["# Staged by tools/release/build_extension.py from onnx_models/registry.toml.", ""]
    lines += [f"{key} = {_toml_value(value)}" for key, value in registry.items() if key != "model"]
    for entry in registry.get("model", []):
        lines += ["", "[[model]]"] + [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def stage_real_model(models_dir: Path, source_dir: Path = ROOT / "onnx_models") -> str:
    """Copy the registry and the verified default model from `source_dir` into `models_dir`; returns its file name."""
    registry, default_id = _registry(source_dir / "registry.toml")
    entry = next((e for e in registry.get("model", []) if e.get("id") == default_id), None)
    if entry is None:
        raise BuildError(f'{source_dir / "registry.toml"} has no entry for the default model "{default_id}".')
    source = source_dir / entry["file_name"]
    if not source.is_file():
        raise BuildError(
            f"The default model file {source} is missing: fetch it with "
            f"tools/release/fetch_models.py (from {entry.get('url', 'its source URL')}), or pass --test-model to build "
            "a development package with the test model instead."
        )
    expected = (entry.get("sha256") or "").lower()
    if not expected:
        raise BuildError(f'The registry pins no SHA-256 for "{default_id}": refusing to bundle an unverified model.')
    if (actual := _sha256(source)) != expected:
        raise BuildError(
            f"{source} does not match the SHA-256 pinned in {source_dir / 'registry.toml'} "
            f"(expected {expected}, found {actual}): download it again."
        )
    models_dir.mkdir()
    shutil.copy2(source_dir / "registry.toml", models_dir / "registry.toml")
    shutil.copy2(source, models_dir / entry["file_name"])
    return entry["file_name"]


def stage_test_model(models_dir: Path) -> str:
    """Write the tiny test model and a registry that lists it under the default model's id."""
    registry, default_id = _registry()
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    import onnx
    from make_test_model import tiny_dynamic

    models_dir.mkdir()
    model_path = models_dir / DEV_MODEL_FILE
    onnx.save(tiny_dynamic(), model_path)
    metadata = {p.key: p.value for p in onnx.load(model_path).metadata_props}
    dev_entry = {
        "id": default_id,
        "name": "Test model (development build, not MiDaS)",
        "file_name": DEV_MODEL_FILE,
        "sha256": _sha256(model_path),
        "url": "",
        "license": "GPL-3.0-or-later",
        "multiple_of": int(metadata.get("multiple_of", 14)),
        "max_size": int(metadata.get("max_size", 140)),
        "mean": [float(v) for v in metadata.get("mean", "0,0,0").split(",")],
        "std": [float(v) for v in metadata.get("std", "1,1,1").split(",")],
        "output_kind": "INVERSE",
        "notes": "Development build: depth is the brightness of the photo, not an estimate.",
    }
    others = [e for e in registry.get("model", []) if e.get("id") != default_id]
    (models_dir / "registry.toml").write_text(_registry_toml({**registry, "model": [dev_entry, *others]}), "utf-8")
    return DEV_MODEL_FILE


# --------------------------------------------------------------------------------------------------------------
# Staging, building, repository


def find_extension_cli() -> Path:
    """blender_ext.py from a bpy wheel: the current interpreter's, else the newest in .venv/."""
    cli = "bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
    patterns = [f"{folder}/{cli}" for folder in sys.path if Path(folder).is_dir()]
    patterns.append(f"{ROOT}/.venv/*/lib/python3*/site-packages/{cli}")
    for pattern in patterns:
        if found := sorted(glob.glob(pattern), key=lambda p: [int(n) for n in re.findall(r"/bpy/(\d+)\.(\d+)/", p)[0]]):
            return Path(found[-1])
    raise BuildError(
        "No Blender extension CLI (bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py) found: "
        "run tools/setup_env.sh first or use a Python that has the bpy module."
    )


def staged_manifest(
    manifest: Path, platforms: list[str], wheel_names: list[str], blender_line: tuple[str, str] | None = None
) -> str:
    """The source manifest with this build's `platforms` and `wheels` inserted before its first table; with
    `blender_line` (min, exclusive max or ""), its Blender versions narrowed to that line."""
    text = manifest.read_text(encoding="utf-8")
    try:
        source = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{manifest} is not valid TOML ({exc}).") from exc
    for reserved in ("platforms", "wheels", "blender_version_max"):
        if reserved in source:
            raise BuildError(f"{MANIFEST_NAME} must not set `{reserved}`: the build writes it per flavour.")
    generated = (
        f"# Written by tools/release/build_extension.py.\nplatforms = {_toml_value(platforms)}\n"
        f"wheels = [\n" + "".join(f'  "./wheels/{name}",\n' for name in wheel_names) + "]\n"
    )
    if blender_line is not None:
        minimum, maximum = blender_line
        text = re.sub(r"^blender_version_min\s*=.*$", "", text, count=1, flags=re.MULTILINE)
        generated += f"blender_version_min = {_toml_value(minimum)}\n"
        generated += f"blender_version_max = {_toml_value(maximum)}\n" if maximum else ""
    generated += "\n"
    table = re.search(r"^\[", text, flags=re.MULTILINE)
    at = table.start() if table else len(text)
    staged = text[:at] + generated + text[at:]
    parsed = tomllib.loads(staged)
    if parsed.get("platforms") != platforms or len(parsed.get("wheels", [])) != len(wheel_names):
        raise BuildError(f"Could not write platforms and wheels into the staged {MANIFEST_NAME}.")
    if blender_line is not None and parsed.get("blender_version_min") != blender_line[0]:
        raise BuildError(f"Could not write the Blender versions into the staged {MANIFEST_NAME}.")
    return staged


def stage_package(flavour: Flavour, stage_dir: Path) -> None:
    """Everything but the wheels and the manifest: the package, the node group .blend and the model."""
    node_blend = ROOT / "node_assets" / "monocular_photo.blend"
    if not node_blend.is_file():
        raise BuildError(
            f"{node_blend} is missing: generate it with .venv/bpy42/bin/python tools/release/build_node_assets.py"
        )
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(ROOT / "addon", stage_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    (stage_dir / "node_assets").mkdir()
    shutil.copy2(node_blend, stage_dir / "node_assets" / node_blend.name)
    if flavour.test_model:
        model_file = stage_test_model(stage_dir / "onnx_models")
        (stage_dir / DEV_MARKER_NAME).write_text(
            f"Development build ({flavour.name}): the default model is a tiny test model ({model_file}), "
            "not MiDaS, so depth follows brightness. Not for release.\n",
            encoding="utf-8",
        )
    else:
        stage_real_model(stage_dir / "onnx_models")


def stage_wheels(
    stage_dir: Path,
    manifest: Path,
    platforms: list[str],
    wheels: list[Path],
    blender_line: tuple[str, str] | None = None,
) -> None:
    """Put `wheels` (replacing any staged before) and the manifest listing them into the staged package."""
    if (stage_dir / "wheels").exists():
        shutil.rmtree(stage_dir / "wheels")
    (stage_dir / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, stage_dir / "wheels" / wheel.name)
    text = staged_manifest(manifest, platforms, [w.name for w in wheels], blender_line)
    (stage_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")


def run_cli(cli: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, str(cli), *args], capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "FATAL_ERROR" in output:
        what = "does not validate" if args[0] == "validate" else f"could not be built ({args[0]})"
        raise BuildError(f"The extension {what}; blender_ext.py says:\n{output}")
    return output


def build(
    flavour: Flavour,
    platforms: list[str],
    cache: Path,
    dist: Path,
    manifest: Path = ROOT / MANIFEST_NAME,
    stage_dir: Path | None = None,
) -> list[Path]:
    """Build, validate and publish the flavour into `dist`/<flavour>/; returns the zips.

    `stage_dir` defaults to build/stage-<flavour>/ and is replaced; give each concurrent build its own.
    """
    cli = find_extension_cli()
    tags = cli.parents[4] / "modules" / "_bpy_internal" / "extensions" / "tags.py"
    tags_args = ["--valid-tags", str(tags)] if tags.is_file() else []
    version = tomllib.loads(manifest.read_text(encoding="utf-8")).get("version", "0")

    print(f"Monocular Photo {version}, flavour {flavour.name}: {', '.join(platforms)}", flush=True)
    stage_dir = stage_dir or ROOT / "build" / f"stage-{flavour.name}"
    stage_package(flavour, stage_dir)  # first: a missing or wrong model stops the build before any download
    # (zip name suffix, Pythons, Blender line): one build for every line, or one per line.
    if flavour.wheels in PER_BLENDER_LINE:
        lines = [(f"-blender{_line_name(python)}", (python,), BLENDER_LINES[python]) for python in PYTHON_VERSIONS]
    else:
        lines = [("", PYTHON_VERSIONS, None)]
    staged = [(suffix, collect_wheels(flavour, platforms, cache, pythons), line) for suffix, pythons, line in lines]

    dist.mkdir(parents=True, exist_ok=True)
    final = dist / flavour.name
    partial = Path(tempfile.mkdtemp(dir=dist, prefix=f".{flavour.name}-partial-"))
    try:
        for suffix, wheels, line in staged:
            stage_wheels(stage_dir, manifest, platforms, wheels, line)
            run_cli(cli, "validate", str(stage_dir), *tags_args)
            run_cli(
                cli,
                "build",
                "--split-platforms",
                "--source-dir",
                str(stage_dir),
                "--output-filepath",
                str(partial / f"{EXTENSION_ID}-{flavour.name}-{version}{suffix}.zip"),
                *tags_args,
            )
        zips = sorted(partial.glob("*.zip"))
        built = {platform for z in zips for platform in platforms if z.stem.endswith(platform.replace("-", "_"))}
        if len(zips) != len(platforms) * len(staged) or built != set(platforms):
            raise BuildError(
                f"Expected {len(staged)} zip(s) per platform ({', '.join(platforms)}), got: "
                f"{', '.join(z.name for z in zips) or 'none'}."
            )
        for zip_path in zips:
            run_cli(cli, "validate", str(zip_path), *tags_args)
        run_cli(cli, "server-generate", "--repo-dir", str(partial), "--html")
        partial.chmod(0o755)
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    zips = sorted(final.glob("*.zip"))
    for zip_path in zips:
        print(f"  {zip_path.name}  {zip_path.stat().st_size / 1e6:.1f} MB ({zip_path.stat().st_size} bytes)")
    print(f"  repository: {final / 'index.json'}")
    return zips


def _line_name(python: str) -> str:
    """ "4.2-5.0" for Python 3.11's Blender line, "5.1-and-newer" for 3.13's."""
    minimum, maximum = BLENDER_LINES[python]
    short = ".".join(minimum.split(".")[:2])
    if not maximum:
        return f"{short}-and-newer"
    major, minor = (int(n) for n in maximum.split(".")[:2])
    last = f"{major}.{minor - 1}" if minor else f"{major - 1}.x"
    return f"{short}-{last}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", choices=("cpu", "cuda", "dev"), default="cpu")
    parser.add_argument(
        "--platform",
        action="append",
        choices=sorted(PIP_PLATFORMS),
        help="build only for this platform (repeatable; default: every platform of the flavour)",
    )
    parser.add_argument(
        "--test-model",
        action="store_true",
        help="bundle the tiny test model instead of the real default model (a development build)",
    )
    parser.add_argument(
        "--wheel-cache",
        type=Path,
        default=ROOT / "build" / "wheel-cache",
        help="folder where downloaded wheels are kept and reused (default: build/wheel-cache)",
    )
    parser.add_argument(
        "--dist",
        type=Path,
        default=ROOT / "dist",
        help="the repositories are written into DIST/<flavour>/ (default: dist)",
    )
    parser.add_argument(
        "--stage-dir",
        type=Path,
        help="folder to stage the extension in, replaced if present (default: build/stage-<flavour>)",
    )
    args = parser.parse_args(argv)

    flavour = Flavour(
        wheels="cpu" if args.flavour == "dev" else args.flavour, test_model=args.test_model or args.flavour == "dev"
    )
    platforms = list(dict.fromkeys(args.platform or FLAVOUR_PLATFORMS[flavour.wheels]))
    if unsupported := [p for p in platforms if p not in FLAVOUR_PLATFORMS[flavour.wheels]]:
        parser.error(f"the {args.flavour} flavour is not built for {', '.join(unsupported)}")
    try:
        stage_dir = args.stage_dir.resolve() if args.stage_dir else None
        build(flavour, platforms, args.wheel_cache.resolve(), args.dist.resolve(), stage_dir=stage_dir)
    except BuildError as exc:
        print(f"build_extension: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
