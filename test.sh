#!/usr/bin/env bash
# The whole test suite. Uses SQLite by default; UEP_TEST_DB=postgresql runs it against PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/scripts/venv.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
