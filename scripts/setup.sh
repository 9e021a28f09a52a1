#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine with Node 20 to run media-foundry: installs
# ffmpeg and RabbitMQ from the distribution when missing, makes sure RabbitMQ
# is running, installs npm dependencies and builds. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)
if [ "$node_major" != "20" ]; then
  echo "media-foundry needs Node.js 20 (found: $node_major). Install it, e.g. from https://nodejs.org or your distribution." >&2
  exit 1
fi

missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
# the hostile-load tests measure ffprobe's and ffmpeg's peak memory with GNU time
[ -x /usr/bin/time ] || missing+=(time)
# the watermark operation draws texts in DejaVu Sans (WATERMARK_FONT_FILE)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# the client page's browser tests drive Debian's chromium with playwright-core (never a downloaded browser)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# the Python example of docs/AMQP.md (examples/amqp_publish.py), run by test/amqp.int.test.ts
/usr/bin/python3 -c 'import pika' 2>/dev/null || missing+=(python3-pika)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from the distribution's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! amqp_up; then
  say "starting RabbitMQ"
  as_root rabbitmq-server -detached || as_root service rabbitmq-server start
  for _ in $(seq 1 90); do amqp_up && break; sleep 1; done
  amqp_up || { echo "RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
say "RabbitMQ is up on 127.0.0.1:5672"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund
fi
say "building"
npm run build --silent
