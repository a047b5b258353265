# Sourced by the other scripts: makes .venv from requirements.lock (again only when the lock
# or pyproject.toml changed) and installs repertory into it, editable.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv="$root/.venv"
stamp="$venv/.lock-stamp"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "repertory needs Python >= 3.11 (found $(python3 --version))" >&2; exit 2; }
  echo "== installing from requirements.lock into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r requirements.lock
  "$venv/bin/pip" install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
