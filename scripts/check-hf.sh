#!/usr/bin/env bash
# `make check-hf`: Hugging Face checkpoint folders written by llm-drop, loaded by the real peer. For SmolLM2-135M
# and Gemma 3 270M (their GGUFs): `llm-drop convert --to hf` (full) and `convert --drop-plan --to hf` (whole
# blocks dropped) write folders that transformers' AutoModelForCausalLM / AutoTokenizer load; their last-position
# logits must match llm-drop's on the same folder and on the GGUF (with the plan applied at load) within relative
# L2 1e-3 with the same top-1, and AutoTokenizer's ids must equal llm-drop's GGUF tokenizer's. Also times the
# conversions each way (GGUF → HF → GGUF) with their peak memory. scripts/check-hf.py does the work and prints
# the tables.
#
#   1. The venv .venv-hf (torch CPU, transformers) must exist; scripts/make-hf-fixtures.sh makes it.
#   2. llm-drop is built (swift build -c release; in .build-hf, or LLM_DROP_BIN names a binary).
#   3. The models are fetched (scripts/fetch-models.sh smollm2 gemma3) unless MODEL / GEMMA3 name them.
#
# Environment: MODEL, GEMMA3 (GEMMA3=none skips it), LLM_DROP_BIN, THREADS (default 2), CHECK_HF_KEEP=1 (keep
# the folders, under out/check-hf).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv-hf/bin/python
say() { echo "check-hf: $*" >&2; }
if ! "$py" -c "import torch, transformers" 2>/dev/null; then
    say "no torch + transformers in .venv-hf; make it with scripts/make-hf-fixtures.sh (it installs them)"
    exit 1
fi
home=${LLM_DROP_HOME:-$HOME/.cache/llm-drop}
model=${MODEL:-$home/models/SmolLM2-135M-Instruct.Q4_1.gguf}
gemma=${GEMMA3:-$home/models/gemma-3-270m-q4_k_m.gguf}
[ -f "$model" ] || scripts/fetch-models.sh smollm2
if [ "$gemma" != none ] && [ ! -f "$gemma" ]; then scripts/fetch-models.sh gemma3; fi
bin=${LLM_DROP_BIN:-}
if [ -z "$bin" ]; then
    say "building llm-drop (release, .build-hf)"
    swift build -c release --scratch-path .build-hf >&2
    bin=.build-hf/release/llm-drop
fi
exec "$py" scripts/check-hf.py --bin "$bin" --model "$model" --gemma3 "$gemma" --threads "${THREADS:-2}" --out out/check-hf ${CHECK_HF_KEEP:+--keep}
