#!/bin/sh
# Backup and restore drill on PostgreSQL (see onestop/ops/restore_drill.py and
# docs/operations.md): back up a database and its data folder, restore both elsewhere,
# compare per-table row counts and checksums and every file, run audit_verify on the copy.
#
#   scripts/restore_drill.sh                        # scratch database with the demo data
#   scripts/restore_drill.sh --source-url postgres://… --data-dir /srv/onestop/var
#
# Exit 0 when everything matches, 1 on any mismatch, 2 when a step failed.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" -m onestop.ops.restore_drill "$@"
