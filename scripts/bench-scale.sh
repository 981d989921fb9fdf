#!/usr/bin/env bash
# make bench-scale (outside CI): speed and memory of LLMDrop at real model sizes, on synthetic models of the
# exact shapes (llm-drop synth; speed and memory do not depend on the weights' values).
#
#   scripts/bench-scale.sh [STEP…]        steps: synth score bench summary (default: all); sizes from SIZES
#
# For each size (SIZES, default "llama-2-7b llama-2-13b"; add llama-2-70b for the 38 GB 70B file):
#   synth    llm-drop synth --like SIZE --type Q4_0 into $SYNTH_DIR (skipped when the file exists)
#   score    llm-drop score on 32 × 128 tokens of C4 (8 × 128 at 70B) with --max-memory $MAX_MEMORY, under
#            /usr/bin/time -v: wall time, peak RSS; achieved GFLOP/s = 2 × (layer weights) × tokens / time
#   bench    llm-drop bench, prompt $PROMPT tokens + $GEN generated: the original and half, then the original
#            and a quarter of the attention layers dropped, each pair interleaved (--baseline: a dropped model
#            measured alone is not comparable on a shared machine — the load changes between runs). The
#            dropped layers are the last ones (plans written here).
#   summary  out/bench-scale.json and the table printed (docs/scale.md quotes it)
# SAMPLES=N scores N samples instead of 32 (8 at 70B). PARTS="half" measures only the half-dropped plan (each pair takes ~15 minutes at 7B here).
#
# The machine is shared: before each long run the script waits while /tmp/llmdrop-quiet.lock exists and
# marks its own runs with /tmp/llmdrop-busy-scale.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.build/release/llm-drop}
SIZES=${SIZES:-"llama-2-7b llama-2-13b"}
SYNTH_DIR=${SYNTH_DIR:-${LLM_DROP_HOME:-$HOME/.cache/llm-drop}/synth}
OUT=${OUT:-out/bench-scale}
MAX_MEMORY=${MAX_MEMORY:-3G}
THREADS=${THREADS:-$(nproc)}
PROMPT=${PROMPT:-2048}
GEN=${GEN:-128}
CALIBRATION=${CALIBRATION:-Tests/Fixtures/data/c4_demo.json}
STEPS=${*:-synth score bench summary}
mkdir -p "$OUT" "$SYNTH_DIR"

quiet() {
    while [ -e /tmp/llmdrop-quiet.lock ]; do echo "bench-scale: waiting for /tmp/llmdrop-quiet.lock" >&2; sleep 30; done
    touch /tmp/llmdrop-busy-scale
}
done_run() { rm -f /tmp/llmdrop-busy-scale; }
trap done_run EXIT

layers_of() { "$BIN" inspect "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"])'; }

for size in $SIZES; do
    model="$SYNTH_DIR/$size.Q4_0.gguf"
    for step in $STEPS; do
        case $step in
        synth)
            [ -f "$model" ] && continue
            quiet
            /usr/bin/time -v "$BIN" synth --like "$size" --type Q4_0 --output "$model" --threads "$THREADS" --json \
                > "$OUT/$size-synth.json" 2> "$OUT/$size-synth.log"
            done_run ;;
        score)
            samples=${SAMPLES:-32}; [ "$size" = llama-2-70b ] && samples=${SAMPLES:-8}
            quiet
            /usr/bin/time -v "$BIN" score "$model" --calibration "$CALIBRATION" --samples $samples --seq-len 128 \
                --max-memory "$MAX_MEMORY" --threads "$THREADS" --json > "$OUT/$size-score.json" 2> "$OUT/$size-score.log"
            done_run ;;
        bench)
            n=$(layers_of "$model")
            for part in ${PARTS:-half quarter}; do
                keep=$([ $part = half ] && echo $((n / 2)) || echo $((n * 3 / 4)))
                python3 -c "import json; json.dump({'dropped_attention': list(range($keep, $n)), 'layers': $n, 'target': 'attention', 'method': 'last layers (bench-scale)'}, open('$OUT/$size-plan-$part.json', 'w'))"
                quiet
                /usr/bin/time -v "$BIN" bench "$model" --drop-plan "$OUT/$size-plan-$part.json" --baseline --prompt-tokens "$PROMPT" \
                    --gen-tokens "$GEN" --repetitions 1 --threads "$THREADS" --json > "$OUT/$size-bench-$part.json" 2> "$OUT/$size-bench-$part.log"
                done_run
            done ;;
        summary) ;;
        esac
    done
done

case " $STEPS " in *" summary "*) python3 scripts/bench-scale-summary.py "$OUT" $SIZES ;; esac
