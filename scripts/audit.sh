#!/usr/bin/env bash
# Known vulnerabilities in the locked dependencies, by pip-audit (PyPI's advisory data, OSV).
# Not a CI gate: the advisory service changes under us, so run it on purpose and read it.
# pip-audit lives in its own throw-away venv, never in the project's.
# Usage: bash scripts/audit.sh [requirements.lock|requirements-runtime.lock] [extra pip-audit args]
set -euo pipefail
cd "$(dirname "$0")/.."
lock="${1:-requirements.lock}"
shift || true
venv="${REPERTORY_AUDIT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/repertory/audit-venv}"
if [ ! -x "$venv/bin/pip-audit" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pip-audit==2.10.1"
fi
# --no-deps: the lock is complete and pinned; --disable-pip: nothing is installed to resolve it;
# --strict: a package the advisory service cannot look up fails the run instead of being skipped
# (an unreachable PyPI JSON API otherwise reports "No known vulnerabilities" with 0 audited).
exec "$venv/bin/pip-audit" -r "$lock" --no-deps --disable-pip --progress-spinner off --strict "$@"
