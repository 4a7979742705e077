"""Helpers shared by the packaging tests: where things are, this platform's name, running the build tool."""

import platform
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOL = REPO_ROOT / "tools" / "release" / "build_extension.py"
# Downloaded wheels are kept here between runs (CI starts without it and downloads once, for both venvs).
WHEEL_CACHE = REPO_ROOT / "build" / "wheel-cache"


def this_platform() -> str:
    """This machine as a Blender platform name (linux-x64, windows-x64, macos-arm64...)."""
    system = {"darwin": "macos"}.get(platform.system().lower(), platform.system().lower())
    machine = platform.machine().lower()
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def run_build(*args: str) -> subprocess.CompletedProcess:
    """tools/release/build_extension.py with `args`, as a user runs it."""
    return subprocess.run(
        [sys.executable, str(BUILD_TOOL), "--wheel-cache", str(WHEEL_CACHE), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
