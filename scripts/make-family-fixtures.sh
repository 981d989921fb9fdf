#!/usr/bin/env bash
# Sets up what scripts/make-family-fixtures.py needs and runs it (outside CI; needs PyPI).
#   .venv-hf/                 torch (CPU), transformers, safetensors, numpy, sentencepiece, protobuf, gguf
#   .venv-hf/converter-site/  transformers 4.57.6 + tokenizers 0.22 + huggingface-hub 0.x, the versions
#                             llama.cpp's converter pins; only the converter subprocess sees them
#   $LCP_DIR (default /tmp/lcp)  the llama-cpp-python 0.3.36 sdist, unpacked; its
#                             vendor/llama.cpp/convert_hf_to_gguf.py is run in place
# Usage: bash scripts/make-family-fixtures.sh [family ...]     (families: llama qwen2 qwen3 mistral gemma3)
set -euo pipefail
cd "$(dirname "$0")/.."
LCP_VERSION=0.3.36
LCP_DIR=${LCP_DIR:-/tmp/lcp}
VENV=.venv-hf
PY=$VENV/bin/python

if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
fi
if ! "$PY" -c "import torch, transformers, safetensors, numpy, sentencepiece, google.protobuf, gguf" 2>/dev/null; then
  # The CPU wheel keeps the download small; fall back to PyPI's default wheel.
  "$PY" -m pip install torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
    || "$PY" -m pip install torch
  "$PY" -m pip install numpy transformers safetensors sentencepiece protobuf gguf
fi
if [ ! -d "$VENV/converter-site/transformers" ]; then
  "$PY" -m pip install --no-deps --target "$VENV/converter-site" \
    "transformers==4.57.6" "tokenizers>=0.22,<=0.23.0" "huggingface-hub>=0.34,<1.0"
fi

SRC="$LCP_DIR/llama_cpp_python-$LCP_VERSION"
if [ ! -f "$SRC/vendor/llama.cpp/convert_hf_to_gguf.py" ]; then
  mkdir -p "$LCP_DIR"
  # `pip download --no-binary :all:` would build cmake from source just to read metadata, so fetch the
  # sdist file itself from the index's JSON API.
  URL=$("$PY" - "$LCP_VERSION" <<'EOF'
import json, sys, urllib.request
v = sys.argv[1]
req = urllib.request.Request("https://pypi.org/simple/llama-cpp-python/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
files = json.load(urllib.request.urlopen(req))["files"]
print(next(f["url"] for f in files if f["filename"] == f"llama_cpp_python-{v}.tar.gz"))
EOF
)
  "$PY" -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
    "$URL" "$LCP_DIR/llama_cpp_python-$LCP_VERSION.tar.gz"
  tar -xzf "$LCP_DIR/llama_cpp_python-$LCP_VERSION.tar.gz" -C "$LCP_DIR"
fi

LLAMA_CPP_DIR="$SRC/vendor/llama.cpp" CONVERTER_SITE="$VENV/converter-site" \
  OMP_NUM_THREADS=1 "$PY" scripts/make-family-fixtures.py "$@"
