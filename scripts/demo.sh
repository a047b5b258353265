#!/usr/bin/env bash
# The main job for a newcomer: installs what it needs, then runs `repertory demo`.
source "$(dirname "$0")/_venv.sh"
exec repertory demo "$@"
