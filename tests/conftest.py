"""Shared pytest fixtures. Test models: tiny ONNX graphs from tools/make_test_model.py (see its docstring).

This file is imported before any test module imports bpy: it points Blender's user extensions folder at an empty
temporary one, so that a copy of Monocular Photo installed by the developer can never shadow the checkout.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.tool_scripts import load_tool

USER_EXTENSIONS = tempfile.mkdtemp(prefix="monocular-photo-test-extensions-")
os.environ["BLENDER_USER_EXTENSIONS"] = USER_EXTENSIONS
atexit.register(shutil.rmtree, USER_EXTENSIONS, ignore_errors=True)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def test_models_dir(tmp_path_factory) -> Path:
    """A folder holding every test model (tiny_fixed.onnx, tiny_dynamic.onnx, nan_output.onnx, ...)."""
    folder = tmp_path_factory.mktemp("test_models")
    load_tool("make_test_model").write_test_models(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_path(test_models_dir) -> Path:
    """Fixed 64x64 model whose output is the mean of R, G, B in 0..1: bright pixels come out near (depth 1)."""
    return test_models_dir / "tiny_fixed.onnx"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The bad-input corpus (tests/corpus/make_corpus.py): {"photos": folder, "depth": folder, "models": folder}."""
    from tests.corpus import make_corpus

    return make_corpus.write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def model(corpus):
    """The corpus's legitimate model, a tiny dynamic-size graph."""
    return corpus["models"] / "tiny_dynamic.onnx"
