#!/usr/bin/env bash
# Runs the training recipe of one model: npm run recipe -- NAME [--smoke] [--out DIR] [recipe flags]
# Recipes use Debian's PyTorch (python3-torch, python3-onnx, libopenblas0-pthread) via /usr/bin/python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:?usage: npm run recipe -- NAME [--smoke] [--out DIR]}"
shift
recipe="$here/$name/recipe/train.py"
[ -f "$recipe" ] || { echo "no recipe at $recipe" >&2; exit 2; }
exec /usr/bin/python3 -u "$recipe" "$@"
