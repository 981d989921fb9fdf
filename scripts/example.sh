#!/usr/bin/env bash
# `make example`: LLMDropKit used as a SwiftPM dependency. Builds Examples/DecodeSpeed (it depends on this
# package by path and sets no build flags), runs it on MODEL and checks that it runs the same kernel set
# as the llm-drop CLI (bench --json); prints both decode speeds, measured one after the other.
#
# Environment: MODEL (default: SmolLM2-135M), TOKENS (default 64), THREADS (default 2), BIN (llm-drop).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "example: $*" >&2; }
model=${MODEL:?MODEL names the model}
tokens=${TOKENS:-64}
threads=${THREADS:-2}
bin=${BIN:-.build/release/llm-drop}
if [ ! -x "$bin" ]; then say "building llm-drop (release)"; swift build -c release >&2; fi
say "building Examples/DecodeSpeed (release)"
swift build -c release --package-path Examples/DecodeSpeed >&2
example=$(Examples/DecodeSpeed/.build/release/decode-speed "$model" "$tokens" "$threads")
cli=$("$bin" bench "$model" --threads "$threads" --prompt-tokens 8 --gen-tokens "$tokens" --repetitions 3 --json 2>/dev/null)
python3 - "$example" "$cli" <<'PY'
import json, sys
ex, cli = json.loads(sys.argv[1]), json.loads(sys.argv[2])
cli_decode = cli["runs"][0]["decode_tokens_per_second"]
print(f"kernels: example {ex['kernels']}, llm-drop {cli['kernels']}")
print(f"decode tok/s: example {ex['decode_tokens_per_second']:.1f} (one run), llm-drop {cli_decode:.1f} (median of 3); "
      f"ratio {ex['decode_tokens_per_second'] / cli_decode:.2f}")
print(f"example text: {ex['text']!r}")
if ex["kernels"] != cli["kernels"]:
    sys.exit(f"example: the dependent package runs {ex['kernels']} kernels, the CLI {cli['kernels']}")
PY
