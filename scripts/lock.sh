#!/usr/bin/env bash
# Re-resolve the lock files after changing dependencies in pyproject.toml.
# requirements.lock: everything tests install (all extras); requirements-runtime.lock: the image.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || python3 -m pip install -q 'uv==0.13.8'
uv pip compile pyproject.toml --all-extras --python-version 3.11 -o requirements.lock -q
uv pip compile pyproject.toml --python-version 3.11 -c requirements.lock -o requirements-runtime.lock -q
echo "locked: $(grep -c '==' requirements.lock) packages (dev), $(grep -c '==' requirements-runtime.lock) (runtime)"
