#!/usr/bin/env bash
# `make check-llamacpp`: checks that GGUF files written by `llm-drop drop --output` run in llama.cpp
# exactly when llm-drop says they do (`runs_in_llama_cpp`), and that there llama.cpp computes what
# llm-drop computes with the drop plan applied at load: SmolLM2-135M (llama, and `deci` for sublayer
# drops), Gemma 3 270M (whole-block drops that move and remove global-attention layers; attention and
# MLP drops, which llama.cpp must refuse), and the tiny fixtures of every family in
# Tests/Fixtures/families (scripts/check-llamacpp.py does the comparison and prints the tables).
#
#   1. llama.cpp's Python binding (llama-cpp-python 0.3.36, built from source with CMake: ~20 min on
#      two cores) goes into the venv .venv-llamacpp/, unless it already imports there.
#      `scripts/check-llamacpp.sh install` stops after this step.
#   2. llm-drop is built (swift build -c release; in .build-llamacpp when another build holds .build).
#   3. The models are fetched (scripts/fetch-models.sh smollm2 gemma3) unless MODEL / GEMMA3 name them.
#
# `scripts/check-llamacpp.sh convert` (make check-llamacpp-convert) checks instead the GGUFs `llm-drop convert --to
# gguf` writes from Hugging Face folders (F32, F16, Q8_0, Q4_0; scripts/check-llamacpp-convert.py): SmolLM2's and
# Gemma 3's folders written by llm-drop (and by transformers, when .venv-hf has torch, transformers and gguf) and
# attention- and joint-dropped SmolLM2 folders in LLM-Drop's layout (written as `deci`); ONLY then names source keys
# (smollm2-hf, smollm2-tf, gemma3-hf, gemma3-tf, smollm2-attn, smollm2-joint).
#
# Environment: MODEL (SmolLM2 GGUF), GEMMA3 (Gemma 3 270M GGUF; GEMMA3=none skips it), CALIBRATION
# (text for scoring; default Tests/Fixtures/data/c4_demo.json, else `self`), LLM_DROP_BIN (use this
# binary, skip the build), ONLY (comma-separated model keys: smollm2, gemma3-270m, fix-llama,
# fix-mistral, fix-qwen2, fix-qwen3, fix-gemma3), THREADS (default 2), CHECK_LLAMACPP_KEEP=1 (keep the
# pruned files), PYTHON (the interpreter that makes the venv; default python3), CMAKE_ARGS (added to
# llama.cpp's CMake arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv-llamacpp"
py="$venv/bin/python"
say() { echo "check-llamacpp: $*" >&2; }

# --- 1. llama-cpp-python -------------------------------------------------------------------------
lcp_version=0.3.36
if [ -x "$py" ] && "$py" -c "import llama_cpp, numpy, sys; sys.exit(llama_cpp.__version__ != '$lcp_version')" 2>/dev/null; then
    say "llama-cpp-python $lcp_version already in $venv"
else
    if ! command -v cc >/dev/null || ! command -v c++ >/dev/null || ! command -v make >/dev/null; then
        say "installing compilers (build-essential) with apt-get"
        SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq build-essential >&2
    fi
    # CMake: none is needed here. The build backend (scikit-build-core) installs the `cmake` wheel
    # from PyPI into its build environment when no CMake >= 3.21 is on PATH.
    # llama.cpp builds for the building CPU (GGML_NATIVE, -march=native). A CPU that advertises AMX
    # (Intel Xeon Sapphire Rapids and later) gets llama.cpp's AMX kernels, which fault in virtual
    # machines that advertise AMX without enabling its tile state; build without them there.
    # LLAVA_BUILD=OFF: the multimodal library (mtmd) is not needed here and is only loaded on use.
    cmake_args="-DLLAVA_BUILD=OFF"
    if grep -qw -m1 amx_tile /proc/cpuinfo 2>/dev/null; then
        amx_off="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        cmake_args="$cmake_args -DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$amx_off' -DCMAKE_CXX_FLAGS='$amx_off'"
        say "the CPU advertises AMX: building llama.cpp without it ($amx_off)"
    fi
    cmake_args="${CMAKE_ARGS:+$CMAKE_ARGS }$cmake_args"
    [ -x "$py" ] || "${PYTHON:-python3}" -m venv "$venv"
    say "installing llama-cpp-python $lcp_version into $venv (compiles llama.cpp: this takes many" \
        "minutes; CMAKE_ARGS=$cmake_args)"
    start=$(date +%s)
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$py" -m pip install --disable-pip-version-check -q --no-cache-dir \
        "llama-cpp-python==$lcp_version" numpy >&2
    say "llama-cpp-python $lcp_version installed in $(( $(date +%s) - start )) s"
fi
[ "${1:-}" = install ] && exit 0

# --- 2. llm-drop ---------------------------------------------------------------------------------
if [ -n "${LLM_DROP_BIN:-}" ]; then
    bin="$LLM_DROP_BIN"
else
    scratch=.build
    # SwiftPM holds an flock on <scratch>/.lock while it builds; rather than wait behind someone
    # else's build in .build, build in a scratch directory of our own.
    if [ -e .build/.lock ] && command -v flock >/dev/null && ! flock -n .build/.lock true 2>/dev/null; then
        scratch=.build-llamacpp
        say ".build is in use by another build; building in $scratch"
    fi
    swift build -c release --scratch-path "$scratch" >&2
    bin="$root/$scratch/release/llm-drop"
fi
[ -x "$bin" ] || { say "no llm-drop binary at $bin"; exit 1; }

# --- 3. models and calibration text --------------------------------------------------------------
model="${MODEL:-$(scripts/fetch-models.sh smollm2)}"
[ -s "$model" ] || { say "model not found: $model"; exit 1; }
gemma3=()
case "${GEMMA3:-}" in
    none) ;;
    "") gemma3=(--gemma3 "$(scripts/fetch-models.sh gemma3)") ;;
    *) [ -s "$GEMMA3" ] || { say "GEMMA3 not found: $GEMMA3"; exit 1; }; gemma3=(--gemma3 "$GEMMA3") ;;
esac
calibration="${CALIBRATION:-}"
if [ -z "$calibration" ]; then
    calibration=self
    [ -s Tests/Fixtures/data/c4_demo.json ] && calibration="$root/Tests/Fixtures/data/c4_demo.json"
fi

# --- 4. compare ----------------------------------------------------------------------------------
if [ "${1:-}" = convert ]; then
    # GGUFs written by `llm-drop convert --to gguf` from HF folders (SmolLM2, Gemma 3 270M, LLM-Drop-layout dropped
    # folders; with .venv-hf also the folders transformers writes from the GGUFs), in F32/F16/Q8_0/Q4_0
    hf=()
    [ -x .venv-hf/bin/python ] && .venv-hf/bin/python -c "import torch, transformers, gguf" 2>/dev/null \
        && hf=(--hf-python "$root/.venv-hf/bin/python")
    extra=()
    [ "${CHECK_LLAMACPP_KEEP:-0}" = 1 ] && extra+=(--keep)
    [ -n "${ONLY:-}" ] && extra+=(--only "$ONLY")
    exec "$py" scripts/check-llamacpp-convert.py --bin "$bin" --model "$model" "${gemma3[@]}" "${hf[@]}" \
        --calibration "$calibration" --threads "${THREADS:-2}" "${extra[@]}"
fi
extra=()
[ "${CHECK_LLAMACPP_KEEP:-0}" = 1 ] && extra+=(--keep)
[ -n "${ONLY:-}" ] && extra+=(--only "$ONLY")
exec "$py" scripts/check-llamacpp.py --bin "$bin" --model "$model" "${gemma3[@]}" \
    --fixtures "$root/Tests/Fixtures/families" --calibration "$calibration" --threads "${THREADS:-2}" \
    "${extra[@]}"
