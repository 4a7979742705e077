#!/usr/bin/env bash
# The whole test suite, on both supported Blender lines: bpy 4.2 LTS (Python 3.11) and bpy 5.2.3 (Python 3.13).
# Creates the environments on first use (tools/setup_env.sh). Extra arguments go to pytest.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh bpy42 bpy52 || exit 1
status=0
for env in bpy42 bpy52; do
  echo "=== pytest on $env ($(.venv/$env/bin/python -c 'import bpy, sys; print("Blender", bpy.app.version_string, "Python", sys.version.split()[0])' 2>/dev/null))"
  .venv/$env/bin/python -m pytest "$@" || status=1
done
exit $status
