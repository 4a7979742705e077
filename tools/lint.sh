#!/usr/bin/env bash
# The linter: `ruff check` and `ruff format --check` with the configuration in pyproject.toml.
# Creates .venv/lint (a pinned ruff) on first use. `bash tools/lint.sh --fix` applies the fixes and the format.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ruff_version=0.17.6
venv=.venv/lint
if [ ! -x "$venv/bin/ruff" ] || [ "$("$venv/bin/ruff" --version)" != "ruff $ruff_version" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "ruff==$ruff_version"
fi
if [ "${1:-}" = "--fix" ]; then
  "$venv/bin/ruff" check --fix .
  "$venv/bin/ruff" format .
else
  "$venv/bin/ruff" check .
  "$venv/bin/ruff" format --check .
fi
