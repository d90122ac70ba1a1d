"""manifest.json, written the one way every recipe writes it.

    from _recipe_common.manifest import write_manifest
    write_manifest(out_dir, {"name": "asr", "version": "1", "task": "speech-recognition", ...})

write_manifest puts "$schema" first (a bundled model's folder is models/NAME, so the schema is
"../../docs/manifest.schema.json"), checks the manifest against docs/manifest.schema.json (the JSON
Schema `npm run schema` generates from the server's parser, server/core/manifest.ts) and only then
writes it, formatted as the bundled manifests are: two-space indent and a final newline, which is
also what JSON.stringify(manifest, null, 2) + "\\n" gives. A recipe run therefore reproduces the
committed manifest byte for byte, and a mistake fails the run before anything is written, naming
the key (graphs.acoustic.states[0]: Additional properties are not allowed ('batch_axis' was unexpected)).

Checking committed manifests (valid, and formatted as write_manifest writes them):
    /usr/bin/python3 models/_recipe_common/manifest.py models/*/manifest.json
"""
import json
import os
import sys

import jsonschema  # Debian: python3-jsonschema

SCHEMA_REF = "../../docs/manifest.schema.json"
SCHEMA_FILE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                                            "manifest.schema.json"))


class ManifestError(ValueError):
    pass


def _validator():
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _where(path):
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def problems(manifest):
    """Each way the manifest breaks docs/manifest.schema.json, as 'path: message' (empty: valid)."""
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_where(e.absolute_path)}: {e.message}" for e in errors]


def format_manifest(manifest):
    """The manifest as its file holds it: "$schema" first, two-space indent, a final newline."""
    manifest = {"$schema": SCHEMA_REF, **{k: v for k, v in manifest.items() if k != "$schema"}}
    return json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_manifest(out_dir, manifest):
    """Validates the manifest against docs/manifest.schema.json and writes out_dir/manifest.json.

    What is validated is what is written (the JSON text read back), so tuples, NaN and the like
    cannot slip past. Raises ManifestError, listing every problem, and writes nothing when invalid.
    Returns the file's path."""
    text = format_manifest(manifest)
    found = problems(json.loads(text))
    if found:
        raise ManifestError(f"manifest for {os.path.join(out_dir, 'manifest.json')} does not match {SCHEMA_FILE}:\n  "
                            + "\n  ".join(found))
    path = os.path.join(out_dir, "manifest.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def check_files(paths):
    """Problems of committed manifest files: schema violations, and text write_manifest would not write."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            manifest = json.loads(text)
        except ValueError as e:
            out.append(f"{path}: not JSON ({e})")
            continue
        out += [f"{path}: {p}" for p in problems(manifest)]
        if isinstance(manifest, dict) and text != format_manifest(manifest):
            out.append(f"{path}: not formatted as write_manifest writes it (\"$schema\": \"{SCHEMA_REF}\" first, "
                       "indent 2, final newline); write it with _recipe_common/manifest.py")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: manifest.py MANIFEST.json...")
    found = check_files(sys.argv[1:])
    for line in found:
        print(line, file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"ok: {len(sys.argv) - 1} manifests match {os.path.relpath(SCHEMA_FILE)} and write_manifest's format")
