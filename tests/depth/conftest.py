"""Fixtures for the depth engine tests (helpers.py holds the plain functions)."""

from pathlib import Path

import pytest

from .helpers import save_jpeg, split_photo


@pytest.fixture
def split_jpeg(tmp_path) -> Path:
    """A 400x300 JPEG, left half black and right half white."""
    return save_jpeg(tmp_path / "split.jpg", split_photo(400, 300))
