#!/usr/bin/env bash
# The README's first command: sets up Blender 5.2 as a Python module (first run only), then runs the main job
# on the bundled sample photo and writes a .blend and renders into out/sample/ (see tools/run_sample.py).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup_env.sh" bpy52
exec "$root/.venv/bpy52/bin/python" "$root/tools/run_sample.py" "$@"
