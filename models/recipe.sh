#!/usr/bin/env bash
# Runs the training recipe of one model: npm run recipe -- NAME [--smoke] [--out DIR] [recipe flags]
# (NAME/SCRIPT runs another script of the recipe folder, e.g. npm run recipe -- asr/decoder_eval --out models/asr)
# Recipes use Debian's PyTorch (python3-torch, python3-onnx, libopenblas0-pthread) via /usr/bin/python3.
# Imports: models/ is on PYTHONPATH, so code outside the recipe's own folder is imported by its path
# (from _recipe_common.manifest import write_manifest, from slots.recipe.corpus import generate); the
# recipe's own modules by name (Python puts the script's folder first). No recipe touches sys.path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:?usage: npm run recipe -- NAME[/SCRIPT] [--smoke] [--out DIR]}"
shift
script=train
case "$name" in */*) script="${name#*/}"; name="${name%%/*}" ;; esac
recipe="$here/$name/recipe/$script.py"
[ -f "$recipe" ] || { echo "no recipe at $recipe" >&2; exit 2; }
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$recipe" "$@"
