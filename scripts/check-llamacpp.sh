#!/usr/bin/env bash
# `make check-llamacpp`: checks that pruned GGUF files written by `llm-drop drop --output` load in
# llama.cpp and compute what llm-drop computes with the drop plan applied at load
# (scripts/check-llamacpp.py does the comparison and prints the table).
#
#   1. llama.cpp's Python binding (llama-cpp-python, built from source with CMake: many minutes on
#      two cores) goes into the venv .venv-llamacpp/, unless it already imports there.
#   2. llm-drop is built (swift build -c release; in .build-llamacpp when another build holds .build).
#   3. The model is fetched (scripts/fetch-models.sh smollm2) unless MODEL names one.
#
# Environment: MODEL (GGUF), CALIBRATION (text for scoring; default Tests/Fixtures/data/c4_demo.json,
# else `self`), LLM_DROP_BIN (use this binary, skip the build), CHECK_LLAMACPP_KEEP=1 (keep the
# pruned files), PYTHON (the interpreter that makes the venv; default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv-llamacpp"
py="$venv/bin/python"
say() { echo "check-llamacpp: $*" >&2; }

# --- 1. llama-cpp-python -------------------------------------------------------------------------
if [ -x "$py" ] && "$py" -c 'import llama_cpp, numpy' 2>/dev/null; then
    say "llama-cpp-python $("$py" -c 'import llama_cpp; print(llama_cpp.__version__)') already in $venv"
else
    if ! command -v cc >/dev/null || ! command -v c++ >/dev/null || ! command -v make >/dev/null; then
        say "installing compilers (build-essential) with apt-get"
        SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq build-essential >&2
    fi
    # CMake: none is needed here. The build backend (scikit-build-core) installs the `cmake` wheel
    # from PyPI into its build environment when no CMake >= 3.21 is on PATH.
    [ -x "$py" ] || "${PYTHON:-python3}" -m venv "$venv"
    say "installing llama-cpp-python into $venv (compiles llama.cpp: this takes many minutes)"
    start=$(date +%s)
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$py" -m pip install --disable-pip-version-check -q llama-cpp-python numpy >&2
    say "llama-cpp-python installed in $(( $(date +%s) - start )) s"
fi

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

# --- 3. model and calibration text ---------------------------------------------------------------
model="${MODEL:-$(scripts/fetch-models.sh smollm2)}"
[ -s "$model" ] || { say "model not found: $model"; exit 1; }
calibration="${CALIBRATION:-}"
if [ -z "$calibration" ]; then
    calibration=self
    [ -s Tests/Fixtures/data/c4_demo.json ] && calibration="$root/Tests/Fixtures/data/c4_demo.json"
fi

# --- 4. compare ----------------------------------------------------------------------------------
keep=()
[ "${CHECK_LLAMACPP_KEEP:-0}" = 1 ] && keep=(--keep)
exec "$py" scripts/check-llamacpp.py --bin "$bin" --model "$model" --calibration "$calibration" \
    --threads "${THREADS:-2}" "${keep[@]}"
