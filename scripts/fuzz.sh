#!/usr/bin/env bash
# libFuzzer fuzzing of LLMDrop's readers of untrusted input (the package in Fuzz/): GGUF, safetensors,
# tokenizer metadata, plans, scores, tasks, calibration text.
#
#   scripts/fuzz.sh build                  build every target (release, -sanitize=fuzzer,address)
#   scripts/fuzz.sh run [TARGET...]        each target for its fixed number of executions (`make fuzz`)
#   scripts/fuzz.sh smoke [TARGET...]      each target for a few seconds (`make fuzz-smoke`, ≤ 2 min in all)
#   scripts/fuzz.sh repro TARGET FILE...   run TARGET on saved inputs (a crash prints its stack)
#   scripts/fuzz.sh list                   the targets and their execution counts
#
# A run fails (exit 1) on any crash, sanitizer report, leak, input slower than 1 s (-timeout=1) or
# property violation; the input is saved under Fuzz/.build/artifacts/TARGET/ and reproduced with
#   scripts/fuzz.sh repro TARGET Fuzz/.build/artifacts/TARGET/crash-…
# (by hand: SWIFT_BACKTRACE=enable=no Fuzz/.build/release/fuzz-TARGET FILE; the Swift runtime's own
# backtracer does not finish under AddressSanitizer). Add -minimize_crash=1 -runs=N to shrink it.
# Corpora grow in Fuzz/.build/corpus/TARGET (seeded from Fuzz/corpus-seeds/…); smoke runs start
# from the seeds alone, with a fixed seed and a time limit per target.
# Environment: FUZZ_JOBS (build jobs), FUZZ_SEED (libFuzzer -seed; default random for run, 1 for
# smoke), FUZZ_RUNS_SCALE (multiplies the execution counts of `run`), LLM_DROP_HOME (models).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/Fuzz"
build="$fuzz/.build"
bin="$build/release"

# target  executions(run)  smoke-seconds  max_len  dictionary  needs-models
targets=(
    "gguf         1000000  15  65536  gguf.dict       no"
    "tokenizer      50000  16   4096  tokenizer.dict  yes"
    "plan          200000   8   4096  json.dict       no"
    "scores        100000   8   4096  json.dict       no"
    "task          100000   8   8192  json.dict       no"
    "calibration    50000  12   4096  json.dict       yes"
    "safetensors   500000  10  16384  safetensors.dict no"
)

field() { echo "$1" | awk -v n="$2" '{print $n}'; }

toolset() {  # ld.gold fails to link the sanitised Swift objects; use the toolchain's lld.
    local swift_bin lld
    swift_bin="$(dirname "$(readlink -f "$(command -v swift)")")"
    lld="$swift_bin/ld.lld"
    [ -x "$lld" ] || lld="$(command -v ld.lld || true)"
    if [ -z "$lld" ]; then echo "fuzz: ld.lld not found next to swift or on PATH" >&2; exit 1; fi
    mkdir -p "$build"
    printf '{ "schemaVersion": "1.0", "linker": { "path": "%s" } }\n' "$lld" > "$build/toolset.json"
}

do_build() {
    toolset
    local jobs=()
    [ -n "${FUZZ_JOBS:-}" ] && jobs=(-j "$FUZZ_JOBS")
    for t in "${targets[@]}"; do
        local name; name=$(field "$t" 1)
        echo "fuzz: building fuzz-$name" >&2
        local rc=0
        swift build -c release "${jobs[@]}" --package-path "$fuzz" --scratch-path "$build" \
            --toolset "$build/toolset.json" -Xswiftc -sanitize=fuzzer,address --product "fuzz-$name" \
            > "$build/build-$name.log" 2>&1 || rc=$?
        # lld warns once per ASan helper symbol; everything else is worth seeing.
        grep -v -e "Cannot export local symbol '__asan" -e '^\[[0-9]*/[0-9]*\]' "$build/build-$name.log" >&2 || true
        [ "$rc" -eq 0 ] || { echo "fuzz: building fuzz-$name failed (exit $rc)" >&2; exit 1; }
    done
}

selected() {  # the target lines named in "$@" (all when none)
    local t
    for t in "${targets[@]}"; do
        if [ $# -eq 0 ]; then echo "$t"; continue; fi
        local name; name=$(field "$t" 1)
        for want in "$@"; do if [ "$want" = "$name" ]; then echo "$t"; fi; done
    done
}

sanitizer_env() {
    export SWIFT_BACKTRACE=enable=no   # libFuzzer and ASan report crashes; the Swift backtracer hangs under ASan
    export LSAN_OPTIONS="suppressions=$fuzz/lsan.supp:print_suppressions=0"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}"
}

do_repro() {  # do_repro TARGET FILE...
    local name="$1"; shift
    [ -x "$bin/fuzz-$name" ] || { echo "fuzz: $bin/fuzz-$name is missing; run scripts/fuzz.sh build" >&2; exit 1; }
    if [ "$(selected "$name" | awk '{print $6}')" = yes ]; then "$root/scripts/fetch-models.sh" smollm2 gemma3 >/dev/null; fi
    sanitizer_env
    exec "$bin/fuzz-$name" -timeout=1 "$@"
}

do_run() {  # do_run run|smoke [TARGET...]
    local mode="$1"; shift
    local lines; lines=$(selected "$@")
    [ -n "$lines" ] || { echo "fuzz: no such target: $*" >&2; exit 2; }
    if echo "$lines" | grep -q ' yes$'; then "$root/scripts/fetch-models.sh" smollm2 gemma3 >/dev/null; fi
    sanitizer_env
    local failed=() summary=()
    while read -r t; do
        local name runs secs maxlen dict
        name=$(field "$t" 1); runs=$(field "$t" 2); secs=$(field "$t" 3); maxlen=$(field "$t" 4); dict=$(field "$t" 5)
        local exe="$bin/fuzz-$name"
        [ -x "$exe" ] || { echo "fuzz: $exe is missing; run scripts/fuzz.sh build" >&2; exit 1; }
        local corpus limits seed
        if [ "$mode" = smoke ]; then
            corpus="$build/smoke-corpus/$name"; rm -rf "$corpus"
            limits=(-max_total_time="$secs"); seed="${FUZZ_SEED:-1}"
        else
            corpus="$build/corpus/$name"
            runs=$(( runs * ${FUZZ_RUNS_SCALE:-1} ))
            limits=(-runs="$runs"); seed="${FUZZ_SEED:-0}"
        fi
        mkdir -p "$corpus" "$build/artifacts/$name" "$build/logs"
        local log="$build/logs/$name-$mode.log"
        echo "fuzz: $name ($mode: ${limits[*]})" >&2
        local start=$SECONDS rc=0
        "$exe" "${limits[@]}" -seed="$seed" -timeout=1 -rss_limit_mb=2560 -max_len="$maxlen" \
            -dict="$fuzz/dicts/$dict" -artifact_prefix="$build/artifacts/$name/" -print_final_stats=1 \
            -close_fd_mask=1 "$corpus" "$fuzz/corpus-seeds/$name" >"$log" 2>&1 || rc=$?
        local took=$(( SECONDS - start ))
        local execs cov ft
        execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
        summary+=("$(printf '%-12s %-6s %9s execs %5ss  %s  rc=%s' "$name" "$mode" "${execs:-?}" "$took" "${cov:-cov: ?}" "$rc")")
        if [ "$rc" -ne 0 ]; then
            failed+=("$name")
            echo "fuzz: $name FAILED (exit $rc); log: $log" >&2
            grep -E -A30 '==ERROR|==FUZZ==|deadly signal|Timeout|out-of-memory|Fatal error' "$log" | head -60 >&2 || true
            grep -E 'Test unit written to|^Base64:' "$log" >&2 || true
        fi
    done <<< "$lines"
    printf '%s\n' "${summary[@]}" >&2
    if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzz: failed: ${failed[*]}" >&2
        exit 1
    fi
}

case "${1:-}" in
    build) do_build ;;
    run) shift; do_run run "$@" ;;
    smoke) shift; do_run smoke "$@" ;;
    repro) shift; [ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh repro TARGET FILE..." >&2; exit 2; }; do_repro "$@" ;;
    list) printf '%s\n' "${targets[@]}" ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
esac
