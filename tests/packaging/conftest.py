"""Packaging fixtures: one development build of the extension per test session, for this platform."""

from pathlib import Path

import pytest
from packaging_support import run_build, this_platform


@pytest.fixture(scope="session")
def dev_repository(tmp_path_factory) -> Path:
    """dist/dev/ of a dev build for this platform: its zip and index.json, built once per session."""
    dist = tmp_path_factory.mktemp("dist")
    stage = tmp_path_factory.mktemp("stage")
    result = run_build(
        "--flavour", "dev", "--platform", this_platform(), "--dist", str(dist), "--stage-dir", str(stage)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dist / "dev"


@pytest.fixture(scope="session")
def dev_zip(dev_repository) -> Path:
    (zip_path,) = dev_repository.glob("*.zip")
    return zip_path
