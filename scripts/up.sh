#!/usr/bin/env bash
# One command from a fresh clone to a running service: set up, then run the
# gateway (ws://localhost:8080, health on :8081) and one worker (health on :8082).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm start
