#!/usr/bin/env bash
# Creates (or reuses) the two test environments: bpy 4.2 LTS on Python 3.11 and bpy 5.2.3 on Python 3.13.
# Usage: tools/setup_env.sh [bpy42|bpy52]...   (default: both). Idempotent: a finished venv is reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")

python_for() {
  case $1 in
    bpy42) for p in "$pyenv_root"/versions/3.11*/bin/python3 "$(command -v python3.11 || true)"; do [ -x "$p" ] && { echo "$p"; return; }; done ;;
    bpy52) for p in "$pyenv_root"/versions/3.13*/bin/python3 "$(command -v python3.13 || true)"; do [ -x "$p" ] && { echo "$p"; return; }; done ;;
  esac
  echo "no Python interpreter found for $1" >&2; return 1
}
pins_for() {
  case $1 in
    bpy42) echo "bpy==4.2.* numpy<2" ;;   # Blender 4.2 is built against numpy 1.x
    bpy52) echo "bpy==5.2.3" ;;
  esac
}

for name in "${@:-bpy42 bpy52}"; do
  for env in $name; do
    venv="$root/.venv/$env"
    stamp="$venv/.ready-$(cat "$root/tools/requirements-test.txt" "$0" | sha256sum | cut -c1-16)"
    [ -f "$stamp" ] && continue
    py=$(python_for "$env")
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # shellcheck disable=SC2046
    "$venv/bin/python" -m pip install -q $(pins_for "$env") -r "$root/tools/requirements-test.txt"
    touch "$stamp"
    echo "ready: $venv"
  done
done
