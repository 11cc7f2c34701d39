#!/usr/bin/env bash
# Builds the `fuzz` preset and runs each fuzz target for a short while on its seed corpus:
# fuzz_gguf (tests/data/gguf/), fuzz_template (real models' chat templates from scripts/fetch-fixtures),
# fuzz_gotmpl (Ollama Go templates, tests/data/fuzz/gotmpl/), fuzz_store (names, manifests, Modelfiles,
# tests/data/fuzz/store/), fuzz_http (HTTP request heads and chunked bodies, tests/data/fuzz/http/),
# fuzz_privacy (the privacy scanner, pseudonymize and restore, tests/data/fuzz/privacy/), fuzz_sse
# (upstream event streams, tests/data/fuzz/sse/), fuzz_toolcall (tool calls in model answers,
# tests/data/fuzz/toolcall/), fuzz_gbnf (GBNF grammars and the matcher's masks against the reference,
# tests/data/fuzz/gbnf/) and fuzz_json_schema (JSON Schema -> grammar, tests/data/fuzz/json_schema/).
# Usage: tests/fuzz/run-smoke.sh [seconds per target]   (default 20). Exits non-zero on any crash or leak.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j2 --target fuzz_gguf fuzz_template fuzz_gotmpl fuzz_store fuzz_http fuzz_privacy fuzz_sse fuzz_toolcall \
    fuzz_gbnf fuzz_json_schema
# New inputs go to scratch corpora so the checked-in seeds stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/gguf" "$scratch/template" "$scratch/gotmpl" "$scratch/store" "$scratch/http" "$scratch/privacy" "$scratch/sse" "$scratch/toolcall" \
    "$scratch/gbnf" "$scratch/json_schema"
build/fuzz/tests/fuzz/fuzz_gguf -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/gguf" tests/data/gguf/
templates="$(python3 scripts/fetch-fixtures)/templates"
build/fuzz/tests/fuzz/fuzz_template -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/template" "$templates" tests/data/templates/
build/fuzz/tests/fuzz/fuzz_gotmpl -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/gotmpl" tests/data/fuzz/gotmpl/
build/fuzz/tests/fuzz/fuzz_store -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/store" tests/data/fuzz/store/
build/fuzz/tests/fuzz/fuzz_http -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/http" tests/data/fuzz/http/
build/fuzz/tests/fuzz/fuzz_privacy -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/privacy" tests/data/fuzz/privacy/
build/fuzz/tests/fuzz/fuzz_sse -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/sse" tests/data/fuzz/sse/
build/fuzz/tests/fuzz/fuzz_toolcall -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/toolcall" tests/data/fuzz/toolcall/
build/fuzz/tests/fuzz/fuzz_gbnf -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/gbnf" tests/data/fuzz/gbnf/
build/fuzz/tests/fuzz/fuzz_json_schema -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/json_schema" tests/data/fuzz/json_schema/
