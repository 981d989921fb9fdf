# LLMDrop: `make demo` (set-up + the main job on the default model) and `make test`.
SHELL := /bin/bash
export LLM_DROP_HOME ?= $(HOME)/.cache/llm-drop
MODEL ?= $(LLM_DROP_HOME)/models/SmolLM2-135M-Instruct.Q4_1.gguf
SWIFT_BUILD := swift build -c release
BIN := .build/release/llm-drop

# OpenBLAS falls back to slow generic kernels on CPUs it does not recognise (virtual machines often
# hide the model); name the kernels the CPU's features support, unless the user chose. The
# llm-drop binary does the same by itself; this covers the test process.
ifeq ($(origin OPENBLAS_CORETYPE), undefined)
OPENBLAS_CORE := $(shell grep -q -m1 avx512bw /proc/cpuinfo 2>/dev/null && echo SkylakeX || { grep -q -m1 avx2 /proc/cpuinfo 2>/dev/null && echo Haswell; })
ifneq ($(OPENBLAS_CORE),)
export OPENBLAS_CORETYPE := $(OPENBLAS_CORE)
endif
endif

.PHONY: deps build model models demo test bench clean check-llamacpp check-hf example check-kernels check-llmdrop check-llamacpp-convert

# System prerequisites (Debian/Ubuntu): OpenBLAS through pkg-config.
deps:
	@if ! pkg-config --exists openblas 2>/dev/null; then \
		echo "llm-drop: installing libopenblas-dev and pkg-config" >&2; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libopenblas-dev pkg-config >&2; \
	fi

build: deps
	$(SWIFT_BUILD)

model:
	@scripts/fetch-models.sh smollm2 >/dev/null

models:
	@scripts/fetch-models.sh smollm2 gemma3 >/dev/null

# The main job on the default model, with no dataset: drop a quarter of the attention layers chosen
# on self-generated calibration text, then compare divergence, perplexity and speed before/after.
demo: build model
	@mkdir -p out
	$(BIN) inspect "$(MODEL)" | head -n 17
	$(BIN) generate "$(MODEL)" --prompt "The capital of France is" --max-tokens 24
	$(BIN) run "$(MODEL)" --target attention --calibration self --samples 16 --seq-len 128 \
		--context 128 --max-windows 8 --gen-tokens 64 --output out/demo-attention-drop.gguf \
		--plan-out out/demo-plan.json --report out/demo-report.json

# Speed and memory of the default model and of Gemma 3 270M at 1 and 2 threads (BENCH_THREADS), prompts of
# 128, 512 and 2048 tokens and 128 generated, medians of 5, as tables and JSON (out/bench-<model>-<threads>-r<round>.json)
# with this machine's read bandwidth and SGEMM rate; with llama.cpp's Python binding in .venv-llamacpp (make
# check-llamacpp builds it), also as ratios against llama.cpp measured right after on the same file
# (out/peer-…-r<round>.json). BENCH_ROUNDS=3 repeats the whole sequence, interleaving the two programs, and the
# summary gives medians over the rounds with each round's ratio (out/bench-rounds.json).
GEMMA3 ?= $(LLM_DROP_HOME)/models/gemma-3-270m-q4_k_m.gguf
BENCH_THREADS ?= 1 2
BENCH_ROUNDS ?= 1
BENCH_ARGS ?= --prompt-tokens 128,512,2048 --gen-tokens 128 --repetitions 5
bench: build models
	@mkdir -p out
	@rm -f out/bench-*-r*.json out/peer-*-r*.json
	@for r in $$(seq 1 $(BENCH_ROUNDS)); do for t in $(BENCH_THREADS); do for m in "SmolLM2-135M-Instruct.Q4_1=$(MODEL)" "gemma-3-270m-Q4_K_M=$(GEMMA3)"; do \
		name=$${m%%=*}; file=$${m#*=}; \
		$(BIN) bench "$$file" --threads $$t $(BENCH_ARGS) --report out/bench-$$name-$$t-r$$r.json || exit 1; \
		if [ -x .venv-llamacpp/bin/python ]; then \
			.venv-llamacpp/bin/python scripts/bench-peer.py --threads $$t --repetitions 5 --name $$name --model "$$file" \
				--llm-drop-json out/bench-$$name-$$t-r$$r.json --report out/peer-$$name-$$t-r$$r.json || exit 1; \
		else echo "llama.cpp peer: not installed (make check-llamacpp builds it); no ratios"; fi; \
	done; done; done
	@echo; python3 scripts/bench-rounds.py out

test: deps models
	swift test -c release

# The C kernels compile for arm64 (NEON) and riscv64 (generic) too, cross-compiled here; CI runs it.
check-kernels:
	scripts/check-kernels-cross.sh

# LLMDropKit as a dependency: Examples/DecodeSpeed (by path, no build settings) must run the same kernel
# set as the CLI; prints both decode speeds. CI runs it after the tests (whose build made the CLI).
example: deps model
	MODEL="$(MODEL)" BIN="$(BIN)" scripts/example.sh

# Pruned GGUF files run in llama.cpp exactly when llm-drop says they do (runs_in_llama_cpp), and there
# match llm-drop with the plan applied at load: SmolLM2, Gemma 3 270M and the family fixtures. Installs
# llama-cpp-python 0.3.36 into .venv-llamacpp/ on first use (builds llama.cpp: ~20 minutes).
check-llamacpp: deps models
	MODEL="$(MODEL)" GEMMA3="$(GEMMA3)" scripts/check-llamacpp.sh

# llama.cpp runs the GGUFs `llm-drop convert --to gguf` writes from Hugging Face folders (F32/F16/Q8_0/Q4_0), with llm-drop's logits.
check-llamacpp-convert: deps models
	MODEL="$(MODEL)" GEMMA3="$(GEMMA3)" scripts/check-llamacpp.sh convert

# Outside CI: transformers (in .venv-hf) loads the checkpoint folders llm-drop writes, with llm-drop's logits and ids.
check-hf: deps models
	MODEL="$(MODEL)" GEMMA3="$(GEMMA3)" scripts/check-hf.sh

# Outside CI: LLM-Drop's own modeling code (transformers 4.38.2 in .venv-llmdrop) loads llm-drop's attention/MLP-dropped
# folders with llm-drop's logits. LLM_DROP_REPO: a checkout of github.com/CASE-Lab-UMD/LLM-Drop (or a bare clone).
check-llmdrop: deps model
	MODEL="$(MODEL)" scripts/check-llmdrop.sh "$(LLM_DROP_REPO)"

clean:
	rm -rf .build

# The whole test suite under AddressSanitizer, then under ThreadSanitizer (the thread pool and the
# parallel kernels), release builds in their own folders. Outside CI: each takes many minutes.
# LeakSanitizer is off for the test process: all it reports there are XCTest's and Foundation's own
# allocations (Process, test-case objects), none from LLMDrop's code; the fuzz targets keep it on.
.PHONY: sanitize sanitize-address sanitize-thread
sanitize: sanitize-address sanitize-thread

sanitize-address: deps models
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 swift test -c release --sanitize=address --scratch-path .build-asan

sanitize-thread: deps models
	TSAN_OPTIONS=halt_on_error=1 swift test -c release --sanitize=thread --scratch-path .build-tsan

# libFuzzer fuzzing of the readers of untrusted input (package in Fuzz/, driver scripts/fuzz.sh): GGUF,
# tokenizers, drop plans, scores, task files, calibration text. `fuzz` runs each target for a fixed
# number of executions (1,000,000 for the GGUF reader); `fuzz-smoke` runs all of them in under 2
# minutes (seeds only, fixed seed). Both fail on any crash, sanitizer report, leak or input slower
# than 1 s; the input is saved under Fuzz/.build/artifacts/.
.PHONY: fuzz-build fuzz fuzz-smoke
fuzz-build: deps
	scripts/fuzz.sh build

fuzz: fuzz-build models
	scripts/fuzz.sh run

fuzz-smoke: fuzz-build models
	scripts/fuzz.sh smoke

# Outside CI: speed and memory at real model sizes on synthetic models (llm-drop synth) of the Llama 2 7B and
# 13B shapes (70B with SCALE_70B=1) in Q4_0 under $(LLM_DROP_HOME)/synth: scoring time, GFLOP/s and peak RSS,
# and prefill/decode speed-ups with half and a quarter of the attention layers dropped. Table and JSON in
# out/bench-scale*.json; results in docs/scale.md. Takes about an hour on 2 cores.
.PHONY: bench-scale
bench-scale: deps
	$(SWIFT_BUILD)
	scripts/bench-scale.sh
