#!/usr/bin/env bash
# One command from a fresh clone to the whole test suite (unit + integration
# against real RabbitMQ, ffmpeg and storage). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm test -- "$@"
