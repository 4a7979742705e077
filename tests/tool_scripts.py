"""The one way tests import a script from tools/ (a folder of scripts, not a package): by path, once per run,
as the module `tools_<name>`. The scripts put the repository root on sys.path themselves."""

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = REPO_ROOT / "tools"


def load_tool(name: str):
    """The module of `tools/<name>.py` (`name` may name a subfolder: "release/build_extension"), imported on first
    use."""
    module_name = "tools_" + name.replace("/", "_")
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, TOOLS_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return sys.modules[module_name]
