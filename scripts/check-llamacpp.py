#!/usr/bin/env python3
"""Checks that pruned GGUF files written by `llm-drop drop --output` load in llama.cpp and compute
the same function as llm-drop with the drop plan applied at load.

Run by scripts/check-llamacpp.sh with the Python of .venv-llamacpp (needs llama_cpp and numpy):
    check-llamacpp.py --bin LLM_DROP --model MODEL --calibration DATA [--workdir DIR] [--keep]

Cases: the original model (the baseline), and pruned files for attention (K=4), MLP (K=2), block
(K=2), joint (K=4) drops chosen by score, plus one whose plan drops the attention of layer 0 (written
as llama.cpp's "linear attention" form; layer 0 is never chosen by score, so it is given at load with
--drop-plan and one more attention layer is chosen by score on top).

For every case and prompt:
  * llama.cpp evaluates llm-drop's prompt token ids on the pruned file; its last-position logits are
    compared with `llm-drop generate MODEL --drop-plan PLAN --top-logits 20`: the same top-1 token,
    and the largest |logit difference| over llm-drop's top-20 ids within a tolerance taken from the
    baseline (the original model, where both programs run the same weights): llama.cpp quantizes
    activations to Q8 for its Q4_1 dot products while llm-drop does not, so the two never agree
    exactly. tolerance = max(0.5, 3 x the baseline's largest difference).
  * `llm-drop generate OUT.gguf` (the pruned file, no plan) must report exactly the same prompt ids
    and top logits (bit-for-bit) as `llm-drop generate MODEL --drop-plan PLAN`.
A top-1 disagreement is accepted only as a near tie: llama.cpp's top-1 is in llm-drop's top 20 and
llm-drop's own logits of the two tokens differ by less than the tolerance (shown as "tie").
Exits 1 on any failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import llama_cpp
    from llama_cpp import Llama
except ImportError as exc:  # pragma: no cover
    sys.exit(f"check-llamacpp: cannot import llama_cpp ({exc}); run scripts/check-llamacpp.sh")

TOP_K = 20
LAYERS = 30  # SmolLM2-135M

PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def fibonacci(n):"),
    ("paragraph",
     "The old lighthouse stood at the edge of the rocky cape, its white paint peeling after decades "
     "of salt and wind. Every evening the keeper climbed the narrow spiral stairs to light the lamp, "
     "even though ships now relied on satellites to find their way. He said the sea deserved a "
     "light, and that some traditions were worth keeping simply because"),
]

# name, target, count, plan given at load (or None)
CASES = [
    ("attention", "attention", 4, None),
    ("mlp", "mlp", 2, None),
    ("block", "block", 2, None),
    ("joint", "joint", 4, None),
    ("attention-L0", "attention", 1,
     {"dropped_attention": [0, 5], "dropped_mlp": [], "dropped_blocks": [],
      "target": "attention", "method": "manual", "layers": LAYERS}),
]


def log(msg):
    print(f"check-llamacpp: {msg}", file=sys.stderr, flush=True)


def run(cmd, what):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout, time.time() - t


def llmdrop_top(args, model, prompt, plan=None):
    cmd = [args.bin, "generate", model, "--threads", str(args.threads), "--prompt", prompt,
           "--max-tokens", "0", "--top-logits", str(TOP_K), "--json"]
    if plan:
        cmd += ["--drop-plan", plan]
    out, _ = run(cmd, "llm-drop generate")
    j = json.loads(out)
    return j["prompt_ids"], [(int(e["id"]), float(e["logit"])) for e in j["top_logits"]]


class LlamaCppModel:
    """A model file loaded in llama.cpp; `error` holds llama.cpp's own log when loading fails."""

    def __init__(self, path, threads):
        self.path, self.llm, self.error, self.info = path, None, None, ""
        try:
            self.llm = Llama(model_path=path, n_ctx=512, logits_all=True, n_threads=threads,
                             n_threads_batch=threads, verbose=False)
        except Exception as exc:  # llama.cpp's reason only shows with verbose=True: reload in a child
            self.error = f"{type(exc).__name__}: {exc}\n" + self._load_log(path)
            return
        md = self.llm.metadata or {}
        arch = md.get("general.architecture", "?")
        self.info = f"arch={arch} layers={md.get(arch + '.block_count', '?')} vocab={self.llm.n_vocab()}"

    @staticmethod
    def _load_log(path):
        code = ("import sys; from llama_cpp import Llama\n"
                "Llama(model_path=sys.argv[1], n_ctx=512, n_threads=1, verbose=True)\n")
        p = subprocess.run([sys.executable, "-c", code, path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        keep = [l for l in lines if any(w in l.lower() for w in ("error", "fail", "wrong", "not found",
                                                                   "missing", "invalid", "exception"))]
        return "llama.cpp log (errors):\n  " + "\n  ".join((keep or lines[-15:])[-25:])

    def last_logits(self, ids):
        llm = self.llm
        llm.reset()
        llm.eval(ids)
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        # cross-check against the raw buffer of the last batch position (llama_get_logits_ith(-1))
        raw = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        raw = np.ctypeslib.as_array(raw, shape=(llm.n_vocab(),)).astype(np.float64)
        if not np.array_equal(row, raw):
            raise RuntimeError("llama.cpp: Llama.scores last row differs from llama_get_logits_ith(-1)")
        return row


def compare(ref_top, lc_logits):
    """Largest |diff| over llm-drop's top ids, top-1 agreement and the llm-drop margin on a flip."""
    diffs = [abs(lc_logits[i] - l) for i, l in ref_top]
    ref_best = ref_top[0][0]
    lc_best = int(np.argmax(lc_logits))
    ref_map = dict(ref_top)
    margin = ref_top[0][1] - ref_map[lc_best] if lc_best in ref_map else float("inf")
    return max(diffs), ref_best, lc_best, margin


def produce(args, tmp, name, target, count, given):
    """Runs `llm-drop drop` for one case: the pruned GGUF and the plan it applied."""
    out = os.path.join(tmp, f"{name}.gguf")
    plan = os.path.join(tmp, f"{name}.plan.json")
    cmd = [args.bin, "drop", args.model, "--threads", str(args.threads), "--target", target,
           "--count", str(count), "--calibration", args.calibration, "--samples", "8",
           "--seq-len", "64", "--output", out, "--plan-out", plan, "--json"]
    if given:
        gpath = os.path.join(tmp, f"{name}.given.json")
        with open(gpath, "w") as f:
            json.dump(given, f)
        cmd += ["--drop-plan", gpath]
    stdout, secs = run(cmd, f"llm-drop drop ({name})")
    with open(plan) as f:
        p = json.load(f)
    if given:  # the written plan must hold the plan given at load plus the one chosen by score
        for key in ("dropped_attention", "dropped_mlp", "dropped_blocks"):
            missing = set(given[key]) - set(p.get(key, []))
            if missing:
                raise RuntimeError(f"{name}: plan written with --plan-out lacks {key} {sorted(missing)} "
                                   f"given with --drop-plan: {json.dumps({k: p.get(k) for k in given})}")
    summary = ",".join(f"{k[8:]}={p.get(k)}" for k in ("dropped_attention", "dropped_mlp",
                                                        "dropped_blocks") if p.get(k))
    size = json.loads(stdout).get("output", {}).get("bytes", os.path.getsize(out))
    log(f"{name}: {summary} -> {os.path.basename(out)} ({size / 1e6:.1f} MB, {secs:.0f} s)")
    return out, plan, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True, help="llm-drop binary")
    ap.add_argument("--model", required=True, help="original GGUF (SmolLM2-135M-Instruct Q4_1)")
    ap.add_argument("--calibration", required=True, help="calibration text for llm-drop drop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", help="directory for pruned files (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    log(f"llama-cpp-python {llama_cpp.__version__}; llm-drop {args.bin}; model {args.model}")

    tmp = args.workdir or tempfile.mkdtemp(prefix="check-llamacpp-")
    os.makedirs(tmp, exist_ok=True)
    rows, failures = [], []
    try:
        # --- baseline: the original model, no plan -------------------------------------------
        base = LlamaCppModel(args.model, args.threads)
        if base.error:
            raise RuntimeError(f"llama.cpp cannot load the ORIGINAL model {args.model}:\n{base.error}")
        log(f"original: {base.info}")
        refs = {}
        base_max = 0.0
        for pname, prompt in PROMPTS:
            ids, top = llmdrop_top(args, args.model, prompt)
            refs[pname] = ids
            d, rb, lb, margin = compare(top, base.last_logits(ids))
            base_max = max(base_max, d)
            rows.append(["original", pname, len(ids), rb, lb, margin, d, True, "-"])
        del base
        tol = max(0.5, 3.0 * base_max)
        log(f"baseline largest |diff| over top-{TOP_K} = {base_max:.4f}; tolerance = max(0.5, 3 x "
            f"baseline) = {tol:.4f}")

        # --- pruned cases ----------------------------------------------------------------------
        for name, target, count, given in CASES:
            try:
                out, plan, summary = produce(args, tmp, name, target, count, given)
            except Exception as exc:
                failures.append(str(exc))
                rows.append([name, "*", 0, None, None, None, None, False, "drop failed"])
                continue
            lc = LlamaCppModel(out, args.threads)
            if lc.error:
                failures.append(f"{name} ({summary}): llama.cpp cannot load {out}:\n{lc.error}")
            else:
                log(f"{name}: llama.cpp loaded it: {lc.info}")
            for pname, prompt in PROMPTS:
                try:
                    ids, top = llmdrop_top(args, args.model, prompt, plan)
                    ids2, top2 = llmdrop_top(args, out, prompt)
                except RuntimeError as exc:
                    failures.append(f"{name}/{pname}: {exc}")
                    rows.append([name, pname, 0, None, None, None, None, not lc.error, "error"])
                    continue
                same = ids2 == ids and top2 == top
                if not same:
                    failures.append(f"{name}/{pname}: llm-drop on the pruned file differs from the plan "
                                    f"at load: ids equal={ids2 == ids}; top logits (plan) {top[:5]} vs "
                                    f"(file) {top2[:5]}")
                if ids != refs[pname]:
                    failures.append(f"{name}/{pname}: prompt ids differ from the original model's")
                if lc.error:
                    rows.append([name, pname, len(ids), top[0][0], None, None, None, False, same])
                    continue
                d, rb, lb, margin = compare(top, lc.last_logits(ids))
                rows.append([name, pname, len(ids), rb, lb, margin, d, True, same])
            del lc
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            log(f"pruned files kept in {tmp}")

    # --- table -----------------------------------------------------------------------------------
    print(f"\nllama.cpp (llama-cpp-python {llama_cpp.__version__}) vs llm-drop: last-position logits; "
          f"max |diff| over llm-drop's top-{TOP_K}; tolerance {tol:.3f} (3 x baseline {base_max:.3f}, "
          f"at least 0.5)")
    hdr = f"{'case':<13} {'prompt':<10} {'toks':>4} {'llama.cpp load':<14} {'top-1 (llm-drop/llama.cpp)':<27} " \
          f"{'max diff':>8} {'file==plan':<10} result"
    print(hdr)
    print("-" * len(hdr))
    for name, pname, n, rb, lb, margin, d, loaded, same in rows:
        ok = loaded and d is not None and d <= tol and same in (True, "-")
        if lb is None:
            agree = "-"
        elif rb == lb:
            agree = f"yes {rb}"
        elif margin < tol:
            agree = f"tie {rb}/{lb}"
        else:
            agree = f"NO {rb}/{lb}"
            ok = False
        if loaded and d is not None and d > tol:
            failures.append(f"{name}/{pname}: max |logit diff| {d:.4f} > tolerance {tol:.4f}")
        if agree.startswith("NO"):
            failures.append(f"{name}/{pname}: top-1 differs: llm-drop {rb}, llama.cpp {lb} "
                            f"(llm-drop margin {margin:.3f})")
        ds = "-" if d is None else f"{d:.4f}"
        print(f"{name:<13} {pname:<10} {n:>4} {'OK' if loaded else 'FAILED':<14} {agree:<27} {ds:>8} "
              f"{str(same):<10} {'ok' if ok else 'FAIL'}")
    if failures:
        print("\nFAILURES:", file=sys.stderr)
        for f in dict.fromkeys(failures):
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"\ncheck-llamacpp: all {len(CASES)} pruned files load in llama.cpp and match llm-drop "
          f"(plan at load) within {tol:.3f}; pruned files reproduce the plan-at-load logits bit-for-bit")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"check-llamacpp: FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
