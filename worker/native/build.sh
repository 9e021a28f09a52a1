#!/bin/sh
# Builds the library that lets the worker start ffmpeg ahead of a job
# (wait-for-argv.c, FFMPEG_PRESTART). Without a C compiler, or when the
# compile fails, nothing is built and the worker starts ffmpeg when a job
# needs it (it warns at start-up); the build goes on either way.
set -u
cd "$(dirname "$0")"
mkdir -p ../dist/native
rm -f ../dist/native/wait-for-argv.so
compiler=${CC:-cc}
# CC may hold a wrapper and flags ("ccache gcc"): the first word must exist
if ! command -v "${compiler%% *}" >/dev/null 2>&1; then
  echo "worker: no C compiler ($compiler): ffmpeg will not be pre-started (FFMPEG_PRESTART has no effect)" >&2
  exit 0
fi
# shellcheck disable=SC2086 # CC is split as make splits it
if ! $compiler -O2 -Wall -Wextra -shared -fPIC -o ../dist/native/wait-for-argv.so wait-for-argv.c -ldl; then
  echo "worker: wait-for-argv.c did not compile: ffmpeg will not be pre-started (FFMPEG_PRESTART has no effect)" >&2
  rm -f ../dist/native/wait-for-argv.so
fi
exit 0
