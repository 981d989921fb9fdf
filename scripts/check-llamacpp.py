#!/usr/bin/env python3
"""Checks that GGUF files written by `llm-drop drop --output` run in llama.cpp exactly when llm-drop
says they do (`output.runs_in_llama_cpp`), and that where they run llama.cpp computes the same
function as llm-drop with the drop plan applied at load.

Run by scripts/check-llamacpp.sh with the Python of .venv-llamacpp (needs llama_cpp and numpy):
    check-llamacpp.py --bin LLM_DROP --model SMOLLM2 --calibration DATA
                      [--gemma3 GEMMA3_270M] [--fixtures Tests/Fixtures/families]
                      [--only KEY,KEY...] [--workdir DIR] [--keep]

Models and cases (every model's unpruned file is its baseline):
  smollm2        SmolLM2-135M-Instruct Q4_1 (llama): attention (K=4), MLP (K=2), block (K=2) and joint
                 (K=4) drops chosen by score; "attention-L0", whose plan drops the attention of layer 0
                 (llama.cpp's "linear attention" form; [0, 5] given at load with --drop-plan, one more
                 chosen by score); "mixed": a block, the attention of layer 0 and the MLP of the last
                 layer given at load (block renumbering, zero-FFN in the last position) plus two more
                 chosen by a joint scoring. Llama sublayer drops are written as `deci`.
  gemma3-270m    Gemma 3 270M Q4_K_M (18 layers, layers 5, 11, 17 global): blocks [8, 9] (the global
                 layer 11 moves to position 9), block [5] (a global layer goes; position 5 becomes a
                 sliding layer), a block drop chosen by score (K=4); attention (K=4) and MLP (K=2) drops
                 chosen by score, which llm-drop says llama.cpp cannot run.
  fix-<family>   the tiny random-weight fixtures Tests/Fixtures/families/<family>/model.gguf (F16;
                 llama, mistral, qwen2, qwen3, gemma3): block [1], attention [1], MLP [2]
                 (gemma3 also block [5], its only global layer). Llama/Mistral sublayer drops are
                 `deci` (llama.cpp runs them); Qwen and Gemma sublayer drops are not.
Exact plans ("blocks [8, 9]") are made with `llm-drop drop --scores`, from scores of the model whose
chosen layers were set to similarity 2 (above any cosine), so the rest of the pipeline is the usual one.

For every case and prompt, with llm-drop's prompt token ids fed to both programs (and compared with
llama.cpp's own tokenization, which adds BOS where the GGUF says so, as Gemma's does):
  * llama.cpp's last-position logits on the pruned file vs `llm-drop generate MODEL --drop-plan PLAN
    --max-tokens 0 --top-logits <vocab>` (all logits). Checked: the same top-1 token, and the largest
    |difference of log-probabilities| over llm-drop's 20 most likely tokens <= tolerance. Log-
    probabilities, not raw logits: the two programs' logits also differ by a shift common to every
    token (up to ~0.6 seen), which softmax ignores. The tolerance comes from each model's baseline,
    its unpruned file, where both programs run the same weights and differ only by arithmetic
    (llama.cpp quantizes activations to Q8 for its quantized dot products and to F16 for F16 ones,
    llm-drop does not): tolerance = max(FLOOR, 3 x the baseline's largest difference), FLOOR = 0.5
    for quantized models and 0.05 for the F16 fixtures, whose baselines agree to ~1e-3 (0.5 would hide
    a wrong sliding-window layer there). The raw max |logit difference| over the top 20 and
    KL(llm-drop || llama.cpp) over the whole vocabulary are printed too. A top-1 disagreement is
    accepted only as a near tie: llm-drop's own log-probabilities of the two tokens differ by less than
    the tolerance (shown as "tie").
  * When a quantized file misses that rule (and for Gemma 3 270M always), the case is re-run on F32
    copies that llama.cpp's own
    quantizer writes (llama_model_quantize to ALL_F32: every tensor dequantized, the same weights
    exactly, metadata kept) of the original and the pruned file, where llama.cpp no longer rounds
    activations to 8 bits for quantized dot products: tolerance max(0.05, 3 x the F32 original's
    difference). If the F32 copies match (and llm-drop's F32 and quantized results agree, ~1e-5), the
    verdict is "ok (F32)": llama.cpp reads the file as llm-drop does and the difference is its quantized
    arithmetic, listed at the end; otherwise FAIL. (Seen: Gemma 3 270M Q4_K_M without block 5, its
    first global layer: llama.cpp max|dlogp| ~2.7 on the Q4_K_M file, 0.024 on the F32 copies.)
    Gemma 3 270M runs the F32 comparison for every case llama.cpp runs, not only on a miss: its
    Q4_K_M tolerance (~0.9) is wider than what a wrong sliding/global layer type costs on these short
    prompts (measured on blocks [8, 9] with the per-layer type array removed, so llama.cpp falls back
    to every 6th layer global: 0.16-0.64 on the F32 copies, against 0.003 with it), so the F32 copies
    are what shows the layer types are read right. The F32 verdict must pass in every case.
  * `llm-drop generate OUT.gguf` (the pruned file, no plan) must give exactly the same prompt ids
    and logits, all of them bit-for-bit, as `llm-drop generate MODEL --drop-plan PLAN`.
  * `llm-drop inspect OUT.gguf --json` must say `runs_in_llama_cpp` as `drop` did.
llama.cpp runs in a child process (a GGML_ASSERT abort is then a result, not the end of the check).

Verdicts: a case llm-drop says runs in llama.cpp must load and match; a case it says does not run
must not load (llama.cpp loading it is a failure: the claim would be wrong, whether or not it then
computes the same). Prints a per-prompt table and a per-case table; exits 1 on any failure.
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
F32_FLOOR = 0.05  # tolerance floor for unquantized (F16/F32) files
WARNINGS = []  # mismatches of quantized files whose F32 copies match (llama.cpp's quantized arithmetic)
N_CTX = 256  # every prompt fits (the fixtures' context is 256)

PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def fibonacci(n):"),
    ("paragraph",
     "The old lighthouse stood at the edge of the rocky cape, its white paint peeling after decades "
     "of salt and wind. Every evening the keeper climbed the narrow spiral stairs to light the lamp, "
     "even though ships now relied on satellites to find their way. He said the sea deserved a "
     "light, and that some traditions were worth keeping simply because"),
]


def scored(target, count, given=None):
    """A case whose plan `llm-drop drop --target T --count K` chooses by score (after `given`)."""
    return {"kind": "score", "target": target, "count": count, "given": given}


def exact(attention=(), mlp=(), blocks=()):
    """A case with exactly these removals (one kind only)."""
    kinds = [(k, list(v)) for k, v in (("attention", attention), ("mlp", mlp), ("block", blocks)) if v]
    assert len(kinds) == 1, "an exact case removes one kind of module"
    return {"kind": "exact", "target": kinds[0][0], "layers": kinds[0][1]}


def given_plan(layers, attention=(), mlp=(), blocks=(), target="attention"):
    return {"dropped_attention": list(attention), "dropped_mlp": list(mlp), "dropped_blocks": list(blocks),
            "target": target, "method": "manual", "layers": layers}


def smollm2_cases(layers):
    return [
        ("attention", scored("attention", 4)),
        ("mlp", scored("mlp", 2)),
        ("block", scored("block", 2)),
        ("joint", scored("joint", 4)),
        ("attention-L0", scored("attention", 1, given_plan(layers, attention=[0, 5]))),
        ("mixed", scored("joint", 2, given_plan(layers, attention=[0, 3], mlp=[10, layers - 1], blocks=[20],
                                                target="joint"))),
    ]


def gemma3_cases(layers):
    return [
        ("block-8-9", exact(blocks=[8, 9])),
        ("block-5", exact(blocks=[5])),
        ("block", scored("block", 4)),
        ("attention", scored("attention", 4)),
        ("mlp", scored("mlp", 2)),
    ]


def fixture_cases(family):
    cases = [("block-1", exact(blocks=[1]))]
    if family == "gemma3":
        cases.append(("block-5", exact(blocks=[5])))  # its only global layer
    cases += [("attention-1", exact(attention=[1])), ("mlp-2", exact(mlp=[2]))]
    return cases


FIXTURE_FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "gemma3"]


def log(msg):
    print(f"check-llamacpp: {msg}", file=sys.stderr, flush=True)


def run(cmd, what):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout, time.time() - t


# --- llama.cpp, in a child process ---------------------------------------------------------------

def worker(path, threads, prompts_path, out_path):
    """Child: loads `path` in llama.cpp, evaluates each prompt's ids, saves the last logits.
    Prints one JSON line: {"loaded": bool, "error"?, "info"?, "n_vocab"?, "tokenized"?}."""
    with open(prompts_path) as f:
        prompts = json.load(f)
    try:
        # CHECK_LLAMACPP_KV=f32: an F32 KV cache (llama.cpp's default F16 cache rounds K and V, ~1e-3 of the logits)
        kv = {"type_k": 0, "type_v": 0} if os.environ.get("CHECK_LLAMACPP_KV") == "f32" else {}
        llm = Llama(model_path=path, n_ctx=N_CTX, logits_all=True, n_threads=threads,
                    n_threads_batch=threads, verbose=True, **kv)
    except Exception as exc:
        print(json.dumps({"loaded": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 0
    md = llm.metadata or {}
    arch = md.get("general.architecture", "?")
    info = f"arch={arch} layers={md.get(arch + '.block_count', '?')} vocab={llm.n_vocab()}"
    print(json.dumps({"loaded": True, "info": info}), flush=True)  # a crash while evaluating: loaded
    logits, tokenized = {}, {}
    for p in prompts:
        ids = p["ids"]
        if p.get("text") is not None:  # llama.cpp's own tokenization (BOS where the vocabulary says)
            tokenized[p["name"]] = llm.tokenize(p["text"].encode(), add_bos=True, special=False)
        llm.reset()
        llm.eval(ids)
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        # cross-check against the raw buffer of the last batch position (llama_get_logits_ith(-1))
        raw = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        raw = np.ctypeslib.as_array(raw, shape=(llm.n_vocab(),)).astype(np.float64)
        if not np.array_equal(row, raw):
            print(json.dumps({"loaded": True, "info": info,
                              "error": "Llama.scores last row differs from llama_get_logits_ith(-1)"}))
            return 1
        logits[p["name"]] = row
    np.savez(out_path, **logits)
    print(json.dumps({"loaded": True, "info": info, "n_vocab": llm.n_vocab(), "tokenized": tokenized}),
          flush=True)
    return 0


def dequantize_worker(src, dst, threads):
    """Child: llama.cpp's own quantizer writes `src` with every tensor in F32 (metadata kept)."""
    import ctypes
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = 0  # LLAMA_FTYPE_ALL_F32
    params.allow_requantize = True
    params.nthread = threads
    return llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))


def dequantize(src, dst, threads):
    """`src` with every tensor dequantized to F32 by llama.cpp (same weights, no quantized arithmetic)."""
    if not os.path.exists(dst):
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--dequantize", src, dst, str(threads)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0 or not os.path.exists(dst):
            raise RuntimeError(f"llama.cpp could not write an F32 copy of {src}:\n{p.stdout[-2000:]}")
    return dst


class LlamaCppResult:
    """What llama.cpp did with one file: loaded or not (with its log's errors), last logits per prompt."""

    def __init__(self, path, threads, prompts, tmp):
        self.path, self.loaded, self.error, self.info = path, False, None, ""
        self.logits, self.tokenized, self.n_vocab = {}, {}, None
        base = os.path.join(tmp, "lc-" + os.path.basename(path))
        ppath, opath = base + ".prompts.json", base + ".logits.npz"
        with open(ppath, "w") as f:
            json.dump(prompts, f)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", path, str(threads), ppath, opath],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        res = None  # the union of the JSON lines the child printed, the last one winning
        for l in p.stdout.splitlines():
            if l.startswith("{"):
                res = {**(res or {}), **json.loads(l)}
        if res is None or p.returncode != 0 or "n_vocab" not in res and res.get("loaded"):
            how = f"signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"
            self.loaded = bool(res and res.get("loaded"))
            self.error = f"llama.cpp child {how}{': ' + res['error'] if res and res.get('error') else ''}\n" \
                + self._log_errors(p.stderr)
            self.crashed = True
            return
        self.crashed = False
        self.loaded = res["loaded"]
        if not self.loaded:
            self.error = res["error"] + "\n" + self._log_errors(p.stderr)
            return
        self.info, self.n_vocab, self.tokenized = res["info"], res["n_vocab"], res["tokenized"]
        with np.load(opath) as z:
            self.logits = {k: z[k] for k in z.files}

    @property
    def reason(self):
        """llama.cpp's own words for a refusal, in one line."""
        if not self.error:
            return ""
        lines = [l.strip() for l in self.error.splitlines()[1:] if l.strip()]
        for l in lines:
            if "missing tensor" in l or "wrong shape" in l or "error loading model:" in l:
                return l.split("error loading model:")[-1].strip()[:90]
        return (lines[0] if lines else self.error.splitlines()[0])[:90]

    @staticmethod
    def _log_errors(stderr):
        lines = [l for l in stderr.splitlines() if l.strip()]
        keep = [l for l in lines if any(w in l.lower() for w in ("error", "fail", "wrong", "not found",
                                                                   "missing", "invalid", "exception",
                                                                   "assert", "abort"))]
        return "llama.cpp log (errors):\n  " + "\n  ".join((keep or lines[-15:])[-25:])


# --- llm-drop ------------------------------------------------------------------------------------

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


def inspect(args, path):
    out, _ = run([args.bin, "inspect", path, "--json"], "llm-drop inspect")
    return json.loads(out)


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


def summarize(p):
    return " ".join(f"{k[8:]}={p.get(k)}" for k in ("dropped_attention", "dropped_mlp", "dropped_blocks")
                    if p.get(k)) or "-"


class Model:
    """One original model and what it needs: its layers, vocabulary, cases and (for exact cases) scores."""

    def __init__(self, key, family, path, cases, quantized, f32_always=False):
        self.key, self.family, self.path, self.cases, self.quantized = key, family, path, cases, quantized
        self.f32_always = f32_always  # also compare F32 copies of every file llama.cpp runs
        self.floor = 0.5 if quantized else F32_FLOOR
        self.scores = None


def make_scores(args, m, tmp):
    """Scores of the model (cheap: exact cases only use their layout)."""
    if m.scores is None:
        m.scores = os.path.join(tmp, f"{m.key}.scores.json")
        run([args.bin, "score", m.path, "--threads", str(args.threads), "--calibration", args.calibration,
             "--samples", "2", "--seq-len", "32", "--output", m.scores, "--json"], f"llm-drop score ({m.key})")
    return m.scores


def produce(args, m, tmp, name, case):
    """Runs `llm-drop drop` for one case: the pruned GGUF, the plan it applied, its summary and what
    `drop --json` said about it."""
    out = os.path.join(tmp, f"{m.key}.{name}.gguf")
    plan_path = os.path.join(tmp, f"{m.key}.{name}.plan.json")
    cmd = [args.bin, "drop", m.path, "--threads", str(args.threads), "--output", out, "--plan-out", plan_path,
           "--json"]
    given = None
    if case["kind"] == "exact":
        with open(make_scores(args, m, tmp)) as f:
            s = json.load(f)
        key = {"attention": "attention", "mlp": "mlp", "block": "block"}[case["target"]]
        for l in case["layers"]:
            s[key][l] = 2.0
        spath = os.path.join(tmp, f"{m.key}.{name}.scores.json")
        with open(spath, "w") as f:
            json.dump(s, f)
        cmd += ["--target", case["target"], "--count", str(len(case["layers"])), "--scores", spath]
    else:
        given = case["given"]
        cmd += ["--target", case["target"], "--count", str(case["count"]), "--calibration", args.calibration,
                "--samples", "8", "--seq-len", "64"]
        if given:
            gpath = os.path.join(tmp, f"{m.key}.{name}.given.json")
            with open(gpath, "w") as f:
                json.dump(given, f)
            cmd += ["--drop-plan", gpath]
    stdout, secs = run(cmd, f"llm-drop drop ({m.key} {name})")
    with open(plan_path) as f:
        p = json.load(f)
    if given:  # the written plan must hold the plan given at load as well as the ones chosen
        for key in ("dropped_attention", "dropped_mlp", "dropped_blocks"):
            missing = set(given[key]) - set(p.get(key, []))
            if missing:
                raise RuntimeError(f"{name}: the plan written with --plan-out lacks {key} "
                                   f"{sorted(missing)} given with --drop-plan: "
                                   f"{json.dumps({k: p.get(k) for k in given})}")
    if case["kind"] == "exact":
        key = {"attention": "dropped_attention", "mlp": "dropped_mlp", "block": "dropped_blocks"}[case["target"]]
        if sorted(p.get(key, [])) != sorted(case["layers"]):
            raise RuntimeError(f"{m.key} {name}: wanted {key} {case['layers']}, the plan has {p.get(key)}")
    output = json.loads(stdout).get("output", {})
    summary = summarize(p)
    log(f"{m.key} {name}: {summary} -> {os.path.basename(out)} ({output.get('architecture')}, "
        f"{output.get('bytes', os.path.getsize(out)) / 1e6:.1f} MB, llm-drop says llama.cpp runs it: "
        f"{output.get('runs_in_llama_cpp')}; {secs:.0f} s)")
    return out, plan_path, summary, output


def check_model(args, m, tmp, rows, cases_out, failures):
    """Baseline and every case of one model. Appends per-prompt rows and per-case summaries."""
    info = inspect(args, m.path)
    n_vocab = int(info["vocab_size"])
    layers = int(info["layers"])
    arch = info["architecture"]
    fname = os.path.basename(m.path) if not m.key.startswith("fix-") else f"families/{m.family}/model.gguf"
    cases = m.cases(layers) if callable(m.cases) else m.cases
    log(f"{m.key}: {m.path} ({arch}, {layers} layers, vocab {n_vocab}, add_bos {info['tokenizer']['add_bos']})")

    # llm-drop's ids and logits of the original; llama.cpp on the original (the baseline)
    refs = {}
    for pname, prompt in PROMPTS:
        refs[pname] = llmdrop_logits(args, m.path, prompt, n_vocab)
    prompts = [{"name": p, "text": t, "ids": refs[p][0]} for p, t in PROMPTS]
    base = LlamaCppResult(m.path, args.threads, prompts, tmp)
    if not base.loaded or base.error:
        failures.append(f"{m.key}: llama.cpp cannot run the ORIGINAL model {m.path}:\n{base.error}")
        cases_out.append(dict(model=m.key, file=fname, family=arch, case="original", plan="-", arch=arch,
                              claim=info.get("runs_in_llama_cpp"), loaded=False, agree="-", lp=None,
                              verdict="FAIL", note=base.reason))
        return
    if base.n_vocab != n_vocab:
        failures.append(f"{m.key}: llama.cpp's vocabulary has {base.n_vocab} tokens, llm-drop's {n_vocab}")
    log(f"{m.key} original: llama.cpp: {base.info}")
    notes = []
    for pname, _ in PROMPTS:
        lc_ids, ids = base.tokenized.get(pname), refs[pname][0]
        if lc_ids != ids:
            notes.append(f"{m.key}/{pname}: llama.cpp tokenizes the prompt differently ({len(lc_ids)} ids, "
                         f"llm-drop {len(ids)}; first difference at {next((i for i, (a, b) in enumerate(zip(lc_ids, ids)) if a != b), min(len(lc_ids), len(ids)))}); "
                         f"llm-drop's ids are fed to both")
    base_rows = []
    for pname, _ in PROMPTS:
        ids, ref = refs[pname]
        mres = compare(ref, base.logits[pname])
        base_rows.append(mres)
        rows.append([m.key, "original", pname, len(ids), mres, True, "-", m])
    base_lp = max(r["lp"] for r in base_rows)
    base_raw = max(r["raw"] for r in base_rows)
    m.tol = max(m.floor, 3.0 * base_lp)
    m.base_lp = base_lp
    log(f"{m.key} baseline: largest |log-prob diff| over top-{TOP_K} = {base_lp:.4f} (raw logits "
        f"{base_raw:.4f}); tolerance = max({m.floor}, 3 x {base_lp:.4f}) = {m.tol:.4f}")
    summary_row(m, fname, arch, "original", "-", arch, info.get("runs_in_llama_cpp"), base,
                [r for r in rows if r[0] == m.key and r[1] == "original"], True, cases_out, failures, notes)
    if m.quantized and m.f32_always:
        f32 = f32_baseline(args, m, tmp, n_vocab, rows)
        agrees = [judge(f32, r[4]) for r in f32.rows]
        ok = all(a == "yes" for a, _ in agrees)
        if not ok:
            failures.append(f"{m.key}: on the F32 copy of the original, llama.cpp's top-1 differs from llm-drop's")
        cases_out.append(dict(model=m.key, file=fname[:-5] + "@F32", family=arch, case="original@F32", plan="-",
                              arch=arch, claim=True, loaded=True, agree=f"{sum(a == 'yes' for a, _ in agrees)}/"
                              f"{len(agrees)}", lp=f32.base_lp, tol=f32.tol, verdict="ok" if ok else "FAIL",
                              note="every tensor dequantized to F32 by llama.cpp's quantizer"))

    for name, case in cases:
        try:
            out, plan_path, summary, output = produce(args, m, tmp, name, case)
        except RuntimeError as exc:
            failures.append(str(exc))
            cases_out.append(dict(model=m.key, file=fname, family=arch, case=name, plan="?", arch="?",
                                  claim=None, loaded=False, agree="-", lp=None, verdict="FAIL",
                                  note="drop failed"))
            continue
        claim = output.get("runs_in_llama_cpp")
        written = output.get("architecture", "?")
        try:
            ins = inspect(args, out)
        except RuntimeError as exc:
            ins = {}
            failures.append(f"{m.key} {name}: {exc}")
        case_notes = []
        if ins.get("runs_in_llama_cpp") != claim:
            failures.append(f"{m.key} {name}: `drop` says runs_in_llama_cpp={claim}, `inspect` of the file "
                            f"says {ins.get('runs_in_llama_cpp')}")
            case_notes.append("inspect disagrees with drop")
        if ins and ins.get("architecture") != written:
            failures.append(f"{m.key} {name}: `drop` wrote {written}, `inspect` reads {ins.get('architecture')}")
        lc = LlamaCppResult(out, args.threads, [{"name": p["name"], "text": None, "ids": p["ids"]} for p in prompts],
                            tmp)
        if lc.loaded and not lc.error:
            log(f"{m.key} {name}: llama.cpp loaded it: {lc.info}")
        else:
            log(f"{m.key} {name}: llama.cpp did not run it: {lc.reason}")
        case_rows, case_refs = [], {}
        for pname, prompt in PROMPTS:
            try:
                ids, ref = llmdrop_logits(args, m.path, prompt, n_vocab, plan_path)
                case_refs[pname] = (ids, ref)
                ids2, ref2 = llmdrop_logits(args, out, prompt, n_vocab)
            except RuntimeError as exc:
                failures.append(f"{m.key} {name}/{pname}: {exc}")
                case_rows.append([m.key, name, pname, 0, None, lc.loaded, "error", m])
                continue
            same = ids2 == ids and np.array_equal(ref, ref2)
            if not same:
                bad = np.flatnonzero(ref != ref2) if ids2 == ids else []
                failures.append(
                    f"{m.key} {name}/{pname}: `llm-drop generate` on the pruned file differs from the "
                    f"plan at load: ids equal {ids2 == ids}; {len(bad)} logits differ, largest "
                    f"{np.abs(ref - ref2).max() if ids2 == ids else float('nan'):.3g}")
            if ids != refs[pname][0]:
                failures.append(f"{m.key} {name}/{pname}: prompt ids differ from the original model's")
            mres = compare(ref, lc.logits[pname]) if pname in lc.logits else None
            case_rows.append([m.key, name, pname, len(ids), mres, lc.loaded and not lc.error, same, m])
        rows.extend(case_rows)
        diag = None
        if claim and m.quantized and lc.loaded and not lc.error and case_rows and (m.f32_always or \
                not all(r[4] is not None and judge(m, r[4])[1] for r in case_rows)):
            try:
                diag = f32_diagnosis(args, m, tmp, name, out, n_vocab, case_refs, rows)
            except RuntimeError as exc:
                failures.append(f"{m.key} {name}: F32 diagnosis: {exc}")
        summary_row(m, os.path.basename(out), arch, name, summary, written, claim, lc, case_rows, False,
                    cases_out, failures, case_notes, diag)
    for n in notes:
        log(n)
    m.notes = notes


class Tolerance:
    """The tolerance of one comparison series (judge() reads .tol)."""

    def __init__(self, tol, base_lp):
        self.tol, self.base_lp = tol, base_lp


def f32_baseline(args, m, tmp, n_vocab, rows):
    """The F32 copy of the original model in both programs: the F32 tolerance (once per model)."""
    if getattr(m, "f32", None) is None:
        path = dequantize(m.path, os.path.join(tmp, f"{m.key}.f32.gguf"), args.threads)
        refs = {p: llmdrop_logits(args, path, t, n_vocab) for p, t in PROMPTS}
        lc = LlamaCppResult(path, args.threads, [{"name": p, "text": None, "ids": refs[p][0]} for p, _ in PROMPTS],
                            tmp)
        if not lc.loaded or lc.error:
            raise RuntimeError(f"llama.cpp cannot run the F32 copy {path}: {lc.reason}")
        measures = {p: compare(refs[p][1], lc.logits[p]) for p, _ in PROMPTS}
        lp = max(x["lp"] for x in measures.values())
        m.f32 = Tolerance(max(F32_FLOOR, 3.0 * lp), lp)
        m.f32.rows = [[m.key, "original@F32", p, len(refs[p][0]), measures[p], True, "-", m.f32] for p, _ in PROMPTS]
        rows.extend(m.f32.rows)
        log(f"{m.key}: F32 copy by llama.cpp's quantizer: baseline max|dlogp| {lp:.4f}; tolerance "
            f"max({F32_FLOOR}, 3 x {lp:.4f}) = {m.f32.tol:.4f}")
    return m.f32


def f32_diagnosis(args, m, tmp, name, out, n_vocab, case_refs, rows):
    """When llama.cpp's logits of a quantized pruned file miss llm-drop's, tells llama.cpp's quantized
    arithmetic (it rounds activations to 8 bits for its quantized dot products; llm-drop does not)
    apart from a file llama.cpp reads differently: llama.cpp's quantizer writes the pruned file and the
    original with every tensor in F32 (the same weights, exactly; metadata kept), and both programs run
    those. Tolerance: max(F32 floor, 3 x the F32 original's difference). Also measures llm-drop on the
    F32 copy against llm-drop's logits of the quantized file (the same function: ~1e-5)."""
    f32_baseline(args, m, tmp, n_vocab, rows)
    out32 = dequantize(out, out[:-len(".gguf")] + ".f32.gguf", args.threads)
    prompts = [{"name": p, "text": None, "ids": case_refs[p][0]} for p, _ in PROMPTS if p in case_refs]
    lc = LlamaCppResult(out32, args.threads, prompts, tmp)
    res = {"ok": lc.loaded and not lc.error, "lp": 0.0, "q4f32": 0.0, "tol": m.f32.tol, "yes": 0, "tie": 0,
           "n": len(prompts), "reason": lc.reason}
    for pname, prompt in PROMPTS:
        if pname not in case_refs:
            res["ok"] = False
            continue
        ids, ref32 = llmdrop_logits(args, out32, prompt, n_vocab)
        ids_q, ref_q = case_refs[pname]
        top = np.argsort(-ref_q, kind="stable")[:TOP_K]
        res["q4f32"] = max(res["q4f32"], float(np.abs(log_softmax(ref32)[top] - log_softmax(ref_q)[top]).max()))
        if ids != ids_q:
            res["ok"] = False
        mres = compare(ref32, lc.logits[pname]) if pname in lc.logits else None
        rows.append([m.key, f"{name}@F32", pname, len(ids), mres, lc.loaded and not lc.error, "-", m.f32])
        if mres is None:
            res["ok"] = False
            continue
        agree, ok = judge(m.f32, mres)
        res["ok"] &= ok
        res["lp"] = max(res["lp"], mres["lp"])
        res[agree if agree != "NO" else "tie"] += agree != "NO"
    log(f"{m.key} {name}: F32 copies: llama.cpp vs llm-drop max|dlogp| {res['lp']:.4f} (tolerance "
        f"{m.f32.tol:.4f}): {'match' if res['ok'] else 'DIFFER'}; llm-drop quantized vs F32 {res['q4f32']:.1e}")
    return res


def judge(m, mres):
    """(top-1 cell, ok) for one prompt's measures against the model's tolerance."""
    rb, lb = mres["ref_best"], mres["lc_best"]
    if rb == lb:
        agree, ok = "yes", True
    elif mres["margin"] < m.tol:
        agree, ok = "tie", True
    else:
        agree, ok = "NO", False
    return agree, ok and mres["lp"] <= m.tol


def summary_row(m, fname, family, name, plan, written, claim, lc, case_rows, is_base, cases_out, failures, notes,
                diag=None):
    runs = lc.loaded and not lc.error
    measured = [r for r in case_rows if r[4] is not None]
    agrees = [judge(m, r[4]) for r in measured]
    n_yes = sum(a == "yes" for a, _ in agrees)
    n_tie = sum(a == "tie" for a, _ in agrees)
    agree = f"{n_yes}/{len(case_rows)}" + (f" (+{n_tie} tie)" if n_tie else "") if measured else "-"
    lp = max((r[4]["lp"] for r in measured), default=None)
    matches = runs and len(measured) == len(case_rows) and all(ok for _, ok in agrees)
    same = all(r[6] in (True, "-") for r in case_rows)
    note = "; ".join(notes)
    if claim is None and not is_base:
        verdict = "FAIL"
    elif is_base or claim:
        verdict = "ok" if matches and same else "FAIL"
        if not runs:
            failures.append(f"{m.key} {name} ({plan}): llm-drop says llama.cpp runs it, but llama.cpp "
                            f"did not:\n{lc.error}")
            note = note or lc.reason
        else:
            problems = []
            for (key, cname, pname, n, mres, _, _, _), (a, ok) in zip(measured, agrees):
                if a == "NO":
                    problems.append(f"{key} {cname}/{pname}: top-1 differs: llm-drop {mres['ref_best']}, "
                                    f"llama.cpp {mres['lc_best']} (llm-drop log-prob margin {mres['margin']:.3f})")
                if mres["lp"] > m.tol:
                    problems.append(f"{key} {cname}/{pname}: max |log-prob diff| over top-{TOP_K} "
                                    f"{mres['lp']:.4f} > tolerance {m.tol:.4f}")
            if diag and not diag["ok"]:
                failures.extend(problems)
                failures.append(f"{m.key} {name} ({plan}): on the F32 copies llama.cpp and llm-drop differ: "
                                f"max|dlogp| {diag['lp']:.4f} > tolerance {diag['tol']:.4f} or top-1 differs"
                                + (f" ({diag['reason']})" if diag["reason"] else ""))
                verdict = "FAIL"
                note = f"F32 copies DIFFER: max|dlogp| {diag['lp']:.4f} (tolerance {diag['tol']:.3f})"
            elif problems and diag and same and len(measured) == len(case_rows):
                # llama.cpp reads the file as llm-drop does; its quantized arithmetic is what differs
                verdict = "ok (F32)"
                tie = f" (+{diag['tie']} tie)" if diag["tie"] else ""
                note = (f"quantized file: llama.cpp off by max|dlogp| {lp:.2f} > {m.tol:.2f}; F32 copies match: "
                        f"{diag['lp']:.4f} <= {diag['tol']:.3f}, top-1 {diag['yes']}/{diag['n']}{tie}; "
                        f"llm-drop quantized vs F32 {diag['q4f32']:.0e}")
                WARNINGS.extend(problems)
            else:
                failures.extend(problems)
                if diag:
                    tie = f" (+{diag['tie']} tie)" if diag["tie"] else ""
                    note = (f"F32 copies: max|dlogp| {diag['lp']:.4f} <= {diag['tol']:.3f}, top-1 "
                            f"{diag['yes']}/{diag['n']}{tie}")
        if not same:
            verdict = "FAIL"
    else:  # llm-drop says llama.cpp cannot run it
        if not lc.loaded:
            verdict = "ok (refused)"
            note = note or ("crashed: " if lc.crashed else "") + lc.reason
        else:
            verdict = "FAIL"
            how = "and computes the same logits" if matches else "but computes different logits" \
                if measured else f"but failed to evaluate ({lc.reason})"
            note = f"llama.cpp LOADS it {how}"
            failures.append(f"{m.key} {name} ({plan}): llm-drop says llama.cpp cannot run it (written as "
                            f"{written}), but llama.cpp loads it {how}: the claim is wrong")
        if not same:
            verdict = "FAIL"
    cases_out.append(dict(model=m.key, file=fname, family=family, case=name, plan=plan, arch=written, claim=claim,
                          loaded=lc.loaded, crashed=lc.crashed, agree=agree, lp=lp, tol=m.tol, verdict=verdict,
                          note=note))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    if len(sys.argv) > 1 and sys.argv[1] == "--dequantize":
        return dequantize_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True, help="llm-drop binary")
    ap.add_argument("--model", required=True, help="SmolLM2-135M-Instruct Q4_1 GGUF")
    ap.add_argument("--gemma3", help="Gemma 3 270M GGUF (scripts/fetch-models.sh gemma3)")
    ap.add_argument("--fixtures", help="Tests/Fixtures/families (tiny models of each family)")
    ap.add_argument("--calibration", required=True, help="calibration text for llm-drop drop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="comma-separated model keys (smollm2, gemma3-270m, fix-<family>)")
    ap.add_argument("--workdir", help="directory for pruned files (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the pruned files")
    args = ap.parse_args()
    log(f"llama-cpp-python {llama_cpp.__version__}; llm-drop {args.bin}")

    models = [Model("smollm2", "llama", args.model, smollm2_cases, True)]
    if args.gemma3:
        models.append(Model("gemma3-270m", "gemma3", args.gemma3, gemma3_cases, True, f32_always=True))
    if args.fixtures:
        for fam in FIXTURE_FAMILIES:
            path = os.path.join(args.fixtures, fam, "model.gguf")
            if os.path.exists(path):
                models.append(Model(f"fix-{fam}", fam, path, fixture_cases(fam), False))
            else:
                log(f"fixture {path} not found; skipped")
    if args.only:
        keys = set(args.only.split(","))
        models = [m for m in models if m.key in keys]

    tmp = args.workdir or tempfile.mkdtemp(prefix="check-llamacpp-")
    os.makedirs(tmp, exist_ok=True)
    rows, cases_out, failures = [], [], []
    t0 = time.time()
    try:
        for m in models:
            try:
                check_model(args, m, tmp, rows, cases_out, failures)
            except RuntimeError as exc:
                failures.append(f"{m.key}: {exc}")
    finally:
        if args.keep:
            log(f"pruned files kept in {tmp}")
        elif args.workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- per-prompt table -------------------------------------------------------------------------
    print(f"\nllama.cpp (llama-cpp-python {llama_cpp.__version__}) vs llm-drop (plan at load), last-position "
          f"logits over the top {TOP_K}; tolerance per model = max(floor, 3 x its baseline)")
    for m in models:
        if hasattr(m, "tol"):
            print(f"  {m.key:<12} baseline max|dlogp| {m.base_lp:.4f}, floor {m.floor}, tolerance {m.tol:.4f}")
        if getattr(m, "f32", None):
            print(f"  {m.key + '@F32':<12} baseline max|dlogp| {m.f32.base_lp:.4f}, floor {F32_FLOOR}, "
                  f"tolerance {m.f32.tol:.4f} (every tensor dequantized to F32 by llama.cpp's quantizer)")
    hdr = (f"{'model':<12} {'case':<13} {'prompt':<10} {'toks':>4} {'llama.cpp':<9} {'top-1 (llm-drop/llama.cpp)':<26} "
           f"{'max|dlogp|':>10} {'max|dlogit|':>11} {'KL':>8} {'file==plan':<10}")
    print()
    print(hdr)
    print("-" * len(hdr))
    for key, name, pname, n, mres, loaded, same, m in rows:
        agree = lp = raw = kl = "-"
        if mres is not None:
            a, _ = judge(m, mres)
            rb, lb = mres["ref_best"], mres["lc_best"]
            agree = f"yes {rb}" if a == "yes" else f"{a} {rb}/{lb}"
            lp, raw, kl = f"{mres['lp']:.4f}", f"{mres['raw']:.4f}", f"{mres['kl']:.5f}"
        print(f"{key:<12} {name:<13} {pname:<10} {n:>4} {'loaded' if loaded else 'no':<9} {agree:<26} "
              f"{lp:>10} {raw:>11} {kl:>8} {str(same):<10}")

    # --- per-case table ---------------------------------------------------------------------------
    print(f"\nPer case ({len(PROMPTS)} prompts each). 'llm-drop says runs': `drop --json` output.runs_in_llama_cpp "
          f"(the original: `inspect --json`).")
    hdr = (f"{'file':<34} {'family':<7} {'case':<12} {'plan':<34} {'written':<7} {'says runs':<9} "
           f"{'llama.cpp':<9} {'top-1':<12} {'max|dlogp|':>10} {'tol':>6}  verdict")
    print(hdr)
    print("-" * len(hdr))
    for c in cases_out:
        loaded = "CRASHED" if c.get("crashed") else ("loaded" if c["loaded"] else "refused")
        lp = f"{c['lp']:.4f}" if c["lp"] is not None else "-"
        tol = f"{c['tol']:.3f}" if c.get("tol") is not None else "-"
        print(f"{c['file'][:34]:<34} {c['family']:<7} {c['case']:<12} {c['plan'][:34]:<34} {c['arch']:<7} "
              f"{str(c['claim']):<9} {loaded:<9} {c['agree']:<12} {lp:>10} {tol:>6}  {c['verdict']}"
              + (f"  [{c['note']}]" if c.get("note") else ""))
    notes = [n for m in models for n in getattr(m, "notes", [])]
    if notes:
        print("\nNotes:")
        for n in notes:
            print(f"  - {n}")
    if WARNINGS:
        print("\nQuantized files where llama.cpp's logits miss llm-drop's, but the F32 copies of the same file "
              "match (llama.cpp rounds activations to 8 bits for its quantized dot products; llm-drop does "
              "not, and its quantized and F32 results agree):")
        for w in dict.fromkeys(WARNINGS):
            print(f"  - {w}")
    print(f"\n{len(cases_out)} files checked in {time.time() - t0:.0f} s")
    if failures:
        print("\nFAILURES:", file=sys.stderr)
        for f in dict.fromkeys(failures):
            print(f"  - {f}", file=sys.stderr)
        return 1
    runs = sum(1 for c in cases_out if c["verdict"] in ("ok", "ok (F32)"))
    refused = sum(1 for c in cases_out if c["verdict"] == "ok (refused)")
    print(f"check-llamacpp: OK: {runs} files llm-drop says llama.cpp runs load there and match llm-drop with "
          f"the plan at load (top-1, log-probs within each model's tolerance); {refused} files llm-drop says "
          f"llama.cpp cannot run are refused by it; llm-drop on each pruned file reproduces the plan-at-load "
          f"logits bit-for-bit")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"check-llamacpp: FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
