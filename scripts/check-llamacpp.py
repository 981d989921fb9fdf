#!/usr/bin/env python3
"""Checks that pruned GGUF files written by `llm-drop drop --output` load in llama.cpp and compute
the same function as llm-drop with the drop plan applied at load.

Run by scripts/check-llamacpp.sh with the Python of .venv-llamacpp (needs llama_cpp and numpy):
    check-llamacpp.py --bin LLM_DROP --model MODEL --calibration DATA [--workdir DIR] [--keep]

Cases: the original model (the baseline); pruned files for attention (K=4), MLP (K=2), block (K=2)
and joint (K=4) drops chosen by score; "attention-L0", whose plan drops the attention of layer 0
(llama.cpp's "linear attention" form; layer 0 is never chosen by score, so [0, 5] is given at load
with --drop-plan and one more is chosen by score); "mixed", which gives a block, attention of layer
0, and the MLP of the last layer at load (block renumbering, zero-FFN in the last position) and lets
a joint scoring choose two more.

For every case and prompt, with llm-drop's prompt token ids fed to both programs:
  * llama.cpp's last-position logits on the pruned file vs `llm-drop generate MODEL --drop-plan PLAN
    --max-tokens 0 --top-logits <vocab>` (all logits). Checked: the same top-1 token, and the largest
    |difference of log-probabilities| over llm-drop's 20 most likely tokens <= tolerance. Log-
    probabilities, not raw logits: the two programs' logits also differ by a shift common to every
    token (up to ~0.6 seen), which softmax ignores. The tolerance comes from the baseline, the
    original model, where both programs run the same weights and differ only by arithmetic
    (llama.cpp quantizes activations to Q8 for its Q4_1 dot products, llm-drop does not):
    tolerance = max(0.5, 3 x the baseline's largest difference). The raw max |logit difference|
    over the top 20 and KL(llm-drop || llama.cpp) over the whole vocabulary are printed too.
    A top-1 disagreement is accepted only as a near tie: llm-drop's own log-probabilities of the two
    tokens differ by less than the tolerance (shown as "tie").
  * `llm-drop generate OUT.gguf` (the pruned file, no plan) must give exactly the same prompt ids
    and logits, all of them bit-for-bit, as `llm-drop generate MODEL --drop-plan PLAN`.
Prints a table; exits 1 on any failure.
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


def plan(attention=(), mlp=(), blocks=(), target="attention"):
    return {"dropped_attention": list(attention), "dropped_mlp": list(mlp),
            "dropped_blocks": list(blocks), "target": target, "method": "manual", "layers": LAYERS}


# name, target, count, plan given at load (or None)
CASES = [
    ("attention", "attention", 4, None),
    ("mlp", "mlp", 2, None),
    ("block", "block", 2, None),
    ("joint", "joint", 4, None),
    ("attention-L0", "attention", 1, plan(attention=[0, 5])),
    ("mixed", "joint", 2, plan(attention=[0, 3], mlp=[10, LAYERS - 1], blocks=[20], target="joint")),
]


def log(msg):
    print(f"check-llamacpp: {msg}", file=sys.stderr, flush=True)


def run(cmd, what):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout, time.time() - t


def llmdrop_logits(args, model, prompt, n_vocab, plan_path=None):
    """llm-drop's prompt ids and all last-position logits (as a vector indexed by token id)."""
    cmd = [args.bin, "generate", model, "--threads", str(args.threads), "--prompt", prompt,
           "--max-tokens", "0", "--top-logits", str(n_vocab), "--json"]
    if plan_path:
        cmd += ["--drop-plan", plan_path]
    out, _ = run(cmd, "llm-drop generate")
    j = json.loads(out)
    v = np.full(n_vocab, np.nan)
    for e in j["top_logits"]:
        v[int(e["id"])] = float(e["logit"])
    if np.isnan(v).any():
        raise RuntimeError(f"llm-drop generate {model}: --top-logits {n_vocab} reported "
                           f"{len(j['top_logits'])} logits, not the whole vocabulary")
    return j["prompt_ids"], v


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


def log_softmax(v):
    m = v.max()
    return v - (m + np.log(np.exp(v - m).sum()))


def compare(ref, lc):
    """ref: llm-drop's logits, lc: llama.cpp's. Returns a dict of the measures."""
    top = np.argsort(-ref, kind="stable")[:TOP_K]
    lr, ll = log_softmax(ref), log_softmax(lc)
    rb, lb = int(top[0]), int(np.argmax(lc))
    p = np.exp(lr)
    return {"top": top, "ref_best": rb, "lc_best": lb, "margin": float(lr[rb] - lr[lb]),
            "raw": float(np.abs(lc[top] - ref[top]).max()),
            "lp": float(np.abs(ll[top] - lr[top]).max()),
            "kl": float((p * (lr - ll)).sum())}


def produce(args, tmp, name, target, count, given):
    """Runs `llm-drop drop` for one case: the pruned GGUF and the plan it applied."""
    out = os.path.join(tmp, f"{name}.gguf")
    plan_path = os.path.join(tmp, f"{name}.plan.json")
    cmd = [args.bin, "drop", args.model, "--threads", str(args.threads), "--target", target,
           "--count", str(count), "--calibration", args.calibration, "--samples", "8",
           "--seq-len", "64", "--output", out, "--plan-out", plan_path, "--json"]
    if given:
        gpath = os.path.join(tmp, f"{name}.given.json")
        with open(gpath, "w") as f:
            json.dump(given, f)
        cmd += ["--drop-plan", gpath]
    stdout, secs = run(cmd, f"llm-drop drop ({name})")
    with open(plan_path) as f:
        p = json.load(f)
    if given:  # the written plan must hold the plan given at load as well as the ones chosen
        for key in ("dropped_attention", "dropped_mlp", "dropped_blocks"):
            missing = set(given[key]) - set(p.get(key, []))
            if missing:
                raise RuntimeError(f"{name}: the plan written with --plan-out lacks {key} "
                                   f"{sorted(missing)} given with --drop-plan: "
                                   f"{json.dumps({k: p.get(k) for k in given})}")
    summary = " ".join(f"{k[8:]}={p.get(k)}" for k in ("dropped_attention", "dropped_mlp",
                                                        "dropped_blocks") if p.get(k))
    size = json.loads(stdout).get("output", {}).get("bytes", os.path.getsize(out))
    log(f"{name}: {summary} -> {os.path.basename(out)} ({size / 1e6:.1f} MB, {secs:.0f} s)")
    return out, plan_path, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True, help="llm-drop binary")
    ap.add_argument("--model", required=True, help="original GGUF (SmolLM2-135M-Instruct Q4_1)")
    ap.add_argument("--calibration", required=True, help="calibration text for llm-drop drop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", help="directory for pruned files (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the pruned files")
    args = ap.parse_args()
    log(f"llama-cpp-python {llama_cpp.__version__}; llm-drop {args.bin}; model {args.model}")

    tmp = args.workdir or tempfile.mkdtemp(prefix="check-llamacpp-")
    os.makedirs(tmp, exist_ok=True)
    rows, failures, plans = [], [], {}
    try:
        # --- baseline: the original model, no plan -------------------------------------------
        base = LlamaCppModel(args.model, args.threads)
        if base.error:
            raise RuntimeError(f"llama.cpp cannot load the ORIGINAL model {args.model}:\n{base.error}")
        log(f"original: llama.cpp: {base.info}")
        n_vocab = base.llm.n_vocab()
        refs = {}
        for pname, prompt in PROMPTS:
            ids, ref = llmdrop_logits(args, args.model, prompt, n_vocab)
            refs[pname] = ids
            rows.append(["original", pname, len(ids), compare(ref, base.last_logits(ids)), True, "-"])
        del base
        base_lp = max(r[3]["lp"] for r in rows)
        base_raw = max(r[3]["raw"] for r in rows)
        tol = max(0.5, 3.0 * base_lp)
        log(f"baseline: largest |log-prob diff| over top-{TOP_K} = {base_lp:.4f} (raw logits "
            f"{base_raw:.4f}); tolerance = max(0.5, 3 x {base_lp:.4f}) = {tol:.4f}")

        # --- pruned cases ----------------------------------------------------------------------
        for name, target, count, given in CASES:
            try:
                out, plan_path, summary = produce(args, tmp, name, target, count, given)
                plans[name] = summary
            except RuntimeError as exc:
                failures.append(str(exc))
                rows.append([name, "*", 0, None, False, "drop failed"])
                continue
            lc = LlamaCppModel(out, args.threads)
            if lc.error:
                failures.append(f"{name} ({summary}): llama.cpp cannot load {out}:\n{lc.error}")
            else:
                log(f"{name}: llama.cpp loaded it: {lc.info}")
            for pname, prompt in PROMPTS:
                try:
                    ids, ref = llmdrop_logits(args, args.model, prompt, n_vocab, plan_path)
                    ids2, ref2 = llmdrop_logits(args, out, prompt, n_vocab)
                except RuntimeError as exc:
                    failures.append(f"{name}/{pname}: {exc}")
                    rows.append([name, pname, 0, None, not lc.error, "error"])
                    continue
                same = ids2 == ids and np.array_equal(ref, ref2)
                if not same:
                    bad = np.flatnonzero(ref != ref2)
                    failures.append(
                        f"{name}/{pname}: `llm-drop generate` on the pruned file differs from the "
                        f"plan at load: ids equal {ids2 == ids}; {bad.size} logits differ, largest "
                        f"{np.abs(ref - ref2).max() if ids2 == ids else float('nan'):.3g}")
                if ids != refs[pname]:
                    failures.append(f"{name}/{pname}: prompt ids differ from the original model's")
                m = None if lc.error else compare(ref, lc.last_logits(ids))
                rows.append([name, pname, len(ids), m, not lc.error, same])
            del lc
    finally:
        if args.keep:
            log(f"pruned files kept in {tmp}")
        elif args.workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- table -----------------------------------------------------------------------------------
    print(f"\nllama.cpp (llama-cpp-python {llama_cpp.__version__}) vs llm-drop (plan at load), "
          f"last-position logits; tolerance {tol:.3f} = max(0.5, 3 x baseline {base_lp:.3f})")
    for name, summary in plans.items():
        print(f"  {name:<13} {summary}")
    hdr = (f"{'case':<13} {'prompt':<10} {'toks':>4} {'llama.cpp':<9} {'top-1 (llm-drop/llama.cpp)':<26} "
           f"{'max|dlogp|':>10} {'max|dlogit|':>11} {'KL':>8} {'file==plan':<10} result")
    print()
    print(hdr)
    print("-" * len(hdr))
    for name, pname, n, m, loaded, same in rows:
        ok = loaded and m is not None and same in (True, "-")
        agree = lp = raw = kl = "-"
        if m is not None:
            rb, lb = m["ref_best"], m["lc_best"]
            if rb == lb:
                agree = f"yes {rb}"
            elif m["margin"] < tol:
                agree = f"tie {rb}/{lb}"
            else:
                agree = f"NO {rb}/{lb}"
                ok = False
                failures.append(f"{name}/{pname}: top-1 differs: llm-drop {rb}, llama.cpp {lb} "
                                f"(llm-drop log-prob margin {m['margin']:.3f})")
            if m["lp"] > tol:
                ok = False
                failures.append(f"{name}/{pname}: max |log-prob diff| over top-{TOP_K} {m['lp']:.4f} "
                                f"> tolerance {tol:.4f}")
            lp, raw, kl = f"{m['lp']:.4f}", f"{m['raw']:.4f}", f"{m['kl']:.5f}"
        print(f"{name:<13} {pname:<10} {n:>4} {'loaded' if loaded else 'FAILED':<9} {agree:<26} "
              f"{lp:>10} {raw:>11} {kl:>8} {str(same):<10} {'ok' if ok else 'FAIL'}")
    if failures:
        print("\nFAILURES:", file=sys.stderr)
        for f in dict.fromkeys(failures):
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"\ncheck-llamacpp: OK: all {len(CASES)} pruned files load in llama.cpp and match llm-drop "
          f"with the plan at load (top-1, log-probs within {tol:.3f}); llm-drop on each pruned file "
          f"reproduces the plan-at-load logits bit-for-bit")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"check-llamacpp: FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
