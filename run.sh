#!/usr/bin/env bash
# Main job. With no arguments: the sandbox (emulated Telegram + bot + web chat on http://127.0.0.1:8080).
# With arguments: any `uep` command, e.g. `./run.sh run` (real Telegram; needs BOT_TOKEN and UEP_SECURITY__DATA_KEY).
set -euo pipefail
source "$(dirname "$0")/scripts/venv.sh"
cd "$ROOT"
if [ "$#" -eq 0 ]; then
  set -- sandbox
fi
exec "$VENV/bin/uep" "$@"
