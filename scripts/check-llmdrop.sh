#!/usr/bin/env bash
# `make check-llmdrop`: the paper's own code loads llm-drop's attention/MLP-dropped Hugging Face folders. LLM-Drop
# (github.com/CASE-Lab-UMD/LLM-Drop) saves a sublayer-dropped model as a folder with drop_attn_list /
# drop_mlp_list in config.json, its configuration_dropped_llama.py + modeling_dropped_llama.py beside the weights and
# an auto_map naming them; llm-drop writes the same layout minus those two files. This check puts LLM-Drop's files
# beside llm-drop's SmolLM2-135M folders (attention, MLP, joint and a hand-made plan) and loads them with
# AutoModelForCausalLM(trust_remote_code=True) in transformers 4.38.2, the version that code was written for; the
# logits must match llm-drop's on the same folder and on the GGUF with the plan at load (relative L2 <= 1e-3, same
# top-1), as must the tokenizer's ids and the greedy continuation. scripts/check-llmdrop.py does the work.
#
#   scripts/check-llmdrop.sh [LLM_DROP_REPO]
#
# LLM_DROP_REPO (argument or environment): a checkout of LLM-Drop (`git clone https://github.com/CASE-Lab-UMD/LLM-Drop`),
# or a bare clone / mirror of it (its two modeling files are then taken from HEAD into out/check-llmdrop/LLM-Drop).
# Nothing of LLM-Drop is copied into this repository: only into out/ (git-ignored).
#
#   1. The venv .venv-llmdrop gets torch (CPU) + transformers 4.38.2 + numpy on first use (TORCH_SPEC overrides the
#      torch requirement, e.g. a local wheel).
#   2. llm-drop is built (swift build -c release --scratch-path .build-hf) unless LLM_DROP_BIN names a binary.
#   3. SmolLM2 is fetched (scripts/fetch-models.sh smollm2) unless MODEL names it.
#
# Environment: MODEL, LLM_DROP_BIN, THREADS (default 2), CALIBRATION (default Tests/Fixtures/data/c4_demo.json),
# GEN_TOKENS (greedy tokens compared, default 16), CHECK_LLMDROP_KEEP=1 (keep the folders under out/check-llmdrop).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "check-llmdrop: $*" >&2; }
venv=.venv-llmdrop
py=$venv/bin/python
tf=4.38.2
out=out/check-llmdrop

repo=${1:-${LLM_DROP_REPO:-}}
if [ -z "$repo" ]; then
    say "give a checkout of LLM-Drop: scripts/check-llmdrop.sh PATH (or LLM_DROP_REPO=PATH);" \
        "git clone https://github.com/CASE-Lab-UMD/LLM-Drop makes one"
    exit 2
fi
models=src/llmtuner/compression/prune/models
files="configuration_dropped_llama.py modeling_dropped_llama.py"
if [ -f "$repo/$models/modeling_dropped_llama.py" ]; then
    src="$repo/$models"
elif git --git-dir="$repo" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    # a bare clone (or a mirror's git directory): take the two files from HEAD
    src=$out/LLM-Drop
    mkdir -p "$src"
    for f in $files; do git --git-dir="$repo" show "HEAD:$models/$f" > "$src/$f"; done
    say "LLM-Drop's $files taken from $(git --git-dir="$repo" rev-parse --short HEAD) of $repo into $src"
else
    say "$repo is neither an LLM-Drop checkout (no $models/modeling_dropped_llama.py) nor a git directory"
    exit 2
fi

# --- 1. the venv: transformers as LLM-Drop pins it ---------------------------------------------------------
if ! "$py" -c "import torch, numpy, transformers, sys; sys.exit(transformers.__version__ != '$tf')" 2>/dev/null; then
    say "making $venv: torch (CPU), transformers $tf, numpy"
    [ -x "$py" ] || python3 -m venv "$venv"
    if [ -n "${TORCH_SPEC:-}" ]; then
        "$py" -m pip install -q "$TORCH_SPEC" >&2
    else
        "$py" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu >&2 2>/dev/null \
            || "$py" -m pip install -q torch >&2
    fi
    "$py" -m pip install -q "transformers==$tf" numpy >&2
fi

# --- 2. llm-drop, 3. the model ------------------------------------------------------------------------------
bin=${LLM_DROP_BIN:-}
if [ -z "$bin" ]; then
    say "building llm-drop (release, .build-hf)"
    swift build -c release --scratch-path .build-hf >&2
    bin=.build-hf/release/llm-drop
fi
home=${LLM_DROP_HOME:-$HOME/.cache/llm-drop}
model=${MODEL:-$home/models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$model" ] || model=$(scripts/fetch-models.sh smollm2)
calibration=${CALIBRATION:-Tests/Fixtures/data/c4_demo.json}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_MODULES_CACHE="$PWD/$out/hf-modules"
exec "$py" scripts/check-llmdrop.py --bin "$bin" --model "$model" --llm-drop "$src" --calibration "$calibration" \
    --threads "${THREADS:-2}" --gen-tokens "${GEN_TOKENS:-16}" --out "$out" ${CHECK_LLMDROP_KEEP:+--keep}
