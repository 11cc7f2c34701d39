#!/usr/bin/env bash
# Builds the `fuzz` preset and runs the GGUF fuzz target for a short while on the seed corpus.
# Usage: tests/fuzz/run-smoke.sh [seconds]   (default 30). Exits non-zero on any crash or leak.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j2 --target fuzz_gguf
# New inputs go to a scratch corpus so the checked-in seeds stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
build/fuzz/tests/fuzz/fuzz_gguf -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch" tests/data/gguf/
