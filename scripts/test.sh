#!/usr/bin/env bash
# The whole test suite, as CI runs it: venv from the lock, lint, types, the real servers, pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m unit`).
source "$(dirname "$0")/_venv.sh"
start=$(date +%s)
echo "== ruff";  ruff check repertory tests benchmarks && ruff format --check repertory tests benchmarks
echo "== mypy";  mypy
echo "== hadolint"; hadolint Dockerfile
echo "== prometheus (for the ops tests)"; bash scripts/install-prometheus.sh
echo "== dev stack"; repertory devstack up --fresh  # a running stack is used as it is
echo "== pytest"
set +e
python -m pytest "$@"
rc=$?
set -e
[ $rc -eq 5 ] && { echo "pytest collected no tests: that is a failure" >&2; rc=1; }
echo "== suite wall time: $(( $(date +%s) - start )) s"
exit $rc
