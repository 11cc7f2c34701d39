#!/usr/bin/env bash
# Builds the fuzz targets of the `asan` preset (clang-14, ASan + UBSan) and runs each fuzz target for a short while on its seed corpus:
# fuzz_gguf (tests/data/gguf/), fuzz_template (real models' chat templates from scripts/fetch-fixtures),
# fuzz_gotmpl (Ollama Go templates, tests/data/fuzz/gotmpl/), fuzz_store (names, manifests, Modelfiles,
# tests/data/fuzz/store/), fuzz_http (HTTP request heads and chunked bodies, tests/data/fuzz/http/),
# fuzz_privacy (the privacy scanner, pseudonymize and restore, tests/data/fuzz/privacy/), fuzz_sse
# (upstream event streams, tests/data/fuzz/sse/), fuzz_toolcall (tool calls and thinking blocks in model
# answers, tests/data/fuzz/toolcall/), fuzz_gbnf (GBNF grammars and the matcher's masks against the reference,
# tests/data/fuzz/gbnf/), fuzz_json_schema (JSON Schema -> grammar, tests/data/fuzz/json_schema/), fuzz_kld
# (`hearth perplexity`'s KLD base files, tests/data/fuzz/kld/), fuzz_imatrix (importance matrices for
# `hearth quantize --imatrix`, tests/data/fuzz/imatrix/) and fuzz_safetensors (`hearth convert`'s safetensors
# headers, tests/data/fuzz/safetensors/).
# Usage: tests/fuzz/run-smoke.sh [seconds per target]   (default 20). Exits non-zero on any crash or leak.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"
templates="$(python3 scripts/fetch-fixtures)/templates"
# target, max input length, seed corpora
targets=(
    "fuzz_gguf 8192 tests/data/gguf/"
    "fuzz_template 8192 $templates tests/data/templates/"
    "fuzz_gotmpl 4096 tests/data/fuzz/gotmpl/"
    "fuzz_store 4096 tests/data/fuzz/store/"
    "fuzz_http 4096 tests/data/fuzz/http/"
    "fuzz_privacy 4096 tests/data/fuzz/privacy/"
    "fuzz_sse 4096 tests/data/fuzz/sse/"
    "fuzz_toolcall 4096 tests/data/fuzz/toolcall/"
    "fuzz_gbnf 4096 tests/data/fuzz/gbnf/"
    "fuzz_json_schema 4096 tests/data/fuzz/json_schema/"
    "fuzz_kld 4096 tests/data/fuzz/kld/"
    "fuzz_imatrix 4096 tests/data/fuzz/imatrix/"
    "fuzz_safetensors 4096 tests/data/fuzz/safetensors/"
)
cmake --preset asan >/dev/null
cmake --build build/asan -j"$(nproc)" --target $(for t in "${targets[@]}"; do echo "${t%% *}"; done)
# New inputs go to scratch corpora so the checked-in seeds stay as they are. The targets run side by side, one per
# core (each for the full time: the same fuzzing as one after the other, in a fraction of the wall time); each one's
# output is printed whole when it ends.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
jobs="$(nproc)"
failed=0
finish_one() { # waits for any running target; prints its log; counts a failure
    local rc=0
    wait -n || rc=$?
    for log in "$scratch"/*.done; do
        [ -e "$log" ] || continue
        cat "${log%.done}.log"
        rm -f "$log"
    done
    [ "$rc" = 0 ] || failed=1
}
running=0
for t in "${targets[@]}"; do
    read -r name max_len corpora <<<"$t"
    mkdir -p "$scratch/$name"
    (
        rc=0
        # shellcheck disable=SC2086 # corpora: one or more folders
        "build/asan/tests/fuzz/$name" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 \
            -print_final_stats=1 "$scratch/$name" $corpora >"$scratch/$name.log" 2>&1 || rc=$?
        [ "$rc" = 0 ] || echo "fuzz smoke: $name FAILED (exit $rc)" >>"$scratch/$name.log"
        touch "$scratch/$name.done"
        exit "$rc"
    ) &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        finish_one
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    finish_one
    running=$((running - 1))
done
if [ "$failed" != 0 ]; then
    echo "fuzz smoke: a target failed (its output is above)" >&2
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${seconds} s each, no crash or leak"
