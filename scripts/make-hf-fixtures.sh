#!/usr/bin/env bash
# Runs scripts/make-hf-fixtures.py in the local venv (.venv-hf: torch CPU, transformers, safetensors,
# tokenizers; made by scripts/make-family-fixtures.sh). Outside CI.
# Usage: bash scripts/make-hf-fixtures.sh [family ...]   (llama qwen2 qwen3 mistral gemma3 gemma3-f32)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv-hf/bin/python
if ! "$PY" -c "import torch, transformers, safetensors, tokenizers, numpy" 2>/dev/null; then
  echo "make-hf-fixtures: .venv-hf lacks torch/transformers/safetensors/tokenizers; run scripts/make-family-fixtures.sh once to create it" >&2
  exit 1
fi
OMP_NUM_THREADS=1 "$PY" scripts/make-hf-fixtures.py "$@"
