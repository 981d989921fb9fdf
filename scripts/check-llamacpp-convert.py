#!/usr/bin/env python3
"""`scripts/check-llamacpp.sh convert` (make check-llamacpp-convert): llama.cpp runs the GGUF files `llm-drop convert
--to gguf` writes from Hugging Face checkpoint folders, with llm-drop's logits and token ids.

Sources (each folder converted to GGUF in F32, F16, Q8_0 and Q4_0):
  smollm2-hf       `llm-drop convert SmolLM2.gguf --to hf` (F32; Q4_1 dequantised)
  smollm2-tf       the folder transformers writes from the same GGUF (`from_pretrained(gguf_file=...)` then
                   `save_pretrained` of model and tokenizer; with --hf-python, the .venv-hf interpreter), when it can
  gemma3-hf        `llm-drop convert gemma-3-270m.gguf --to hf` (F32)
  gemma3-tf        as smollm2-tf, for Gemma 3 270M, when transformers can
  smollm2-attn     an attention-dropped folder in LLM-Drop's layout (`drop --target attention --count 8 --format hf`,
                   drop_attn_list in config.json), converted as it is: llama.cpp's `deci` form
  smollm2-joint    the same for a joint (attention + MLP) drop of 8
For every converted file and prompt (check-llamacpp.py's prompts), with llm-drop's ids fed to both programs:
  * llama.cpp's last-position logits (with an F32 KV cache, --kv) vs `llm-drop generate FILE` (all logits): relative
    L2 (also of the centred logits, and max |log-prob difference| over llm-drop's top 20, as check-llamacpp.py) and the
    same top-1; within --tol (1e-3) relative L2 for every type, or else the F32 copy below. Q4_0 must agree on the
    top-1 up to near ties (llm-drop's log-probs of the two tokens within 0.5); its error is reported.
    Types: the llm-drop folders F32/F16/Q8_0/Q4_0; transformers' folders F16/Q8_0; the dropped folders F32/Q8_0.
    When a quantized file misses, llama.cpp's own quantizer writes an F32 copy of it (the same weights, exactly)
    and that copy must match within --tol: then llama.cpp reads the file as llm-drop does and the difference is its
    quantized arithmetic (it rounds activations to 8 bits for Q8_0/Q4_0 dot products, to F16 for F16 ones).
  * llama.cpp's own tokenization of the prompt (BOS as the GGUF says) = llm-drop's ids on the converted file =
    llm-drop's ids on the source folder.
  * llm-drop on the converted file vs llm-drop on its source (the folder, or the original GGUF with the plan at load):
    the conversion's own error (0 for F32 where the folder is F32).
Prints a table, writes --out/results.json, exits 1 on any failure.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing a sibling script
_spec = importlib.util.spec_from_file_location("check_llamacpp", os.path.join(os.path.dirname(__file__),
                                                                               "check-llamacpp.py"))
lcp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lcp)
PROMPTS, LlamaCppResult, llmdrop_logits, run, inspect, dequantize = (
    lcp.PROMPTS, lcp.LlamaCppResult, lcp.llmdrop_logits, lcp.run, lcp.inspect, lcp.dequantize)
TYPES = ["F32", "F16", "Q8_0", "Q4_0"]
TYPES_OF = {"hf": TYPES, "tf": ["F16", "Q8_0"], "attn": ["F32", "Q8_0"], "joint": ["F32", "Q8_0"]}
TIE = 0.5  # a Q4_0 top-1 disagreement is a near tie when llm-drop's log-probs of the two tokens differ by less

# transformers (in .venv-hf) writes a checkpoint folder from a GGUF: an independent producer of HF folders,
# written as make check-hf writes it (check-hf.py's transformers_folder)
TF_WRITE = r"""
import importlib.util, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("check_hf", sys.argv[1])
hf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hf)
hf.transformers_folder(sys.argv[2], sys.argv[3])
"""


def log(msg):
    print(f"check-llamacpp-convert: {msg}", file=sys.stderr, flush=True)


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def timed(cmd, what):
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p.stdout, int(p.stderr.strip().splitlines()[-1]) / 1024


def sources(args, tmp):
    """(key, folder, reference model for llm-drop, plan at load or None)."""
    out = []
    want = lambda k: not args.only or k in args.only.split(",")
    models = [("smollm2", args.model)] + ([("gemma3", args.gemma3)] if args.gemma3 else [])
    for key, gguf in models:
        folder = os.path.join(tmp, f"{key}-hf")
        if want(f"{key}-hf"):
            run([args.bin, "convert", gguf, "--to", "hf", "--type", "F32", "--output", folder, "--json"],
                f"llm-drop convert {key} --to hf")
            out.append((f"{key}-hf", folder, folder, None))
        if args.hf_python and want(f"{key}-tf"):
            tf = os.path.join(tmp, f"{key}-tf")
            p = subprocess.run([args.hf_python, "-c", TF_WRITE, os.path.join(os.path.dirname(__file__), "check-hf.py"),
                                os.path.abspath(gguf), tf], capture_output=True, text=True)
            if p.returncode == 0:
                out.append((f"{key}-tf", tf, tf, None))
                log(f"{key}: transformers wrote {tf}")
            else:
                err = [l for l in p.stderr.splitlines() if l.strip()]
                NOTES.append(f"{key}: transformers could not write a folder from the GGUF: {err[-1] if err else p.returncode}")
                log(NOTES[-1])
    for key, target in (("attn", "attention"), ("joint", "joint")):
        if not want(f"smollm2-{key}"):
            continue
        folder, plan = os.path.join(tmp, f"smollm2-{key}"), os.path.join(tmp, f"smollm2-{key}.plan.json")
        run([args.bin, "drop", args.model, "--target", target, "--count", "8", "--calibration", args.calibration,
             "--samples", "8", "--seq-len", "64", "--threads", str(args.threads), "--output", folder, "--format", "hf",
             "--plan-out", plan, "--json"], f"llm-drop drop --target {target} --format hf")
        p = json.load(open(plan))
        log(f"smollm2-{key}: attention {p.get('dropped_attention')}, MLP {p.get('dropped_mlp')} dropped")
        out.append((f"smollm2-{key}", folder, args.model, plan))
    return out


NOTES = []


def check(args, tmp, key, folder, ref_model, plan, rows, results):
    n_vocab = int(inspect(args, folder)["vocab_size"])
    src = {p: llmdrop_logits(args, ref_model, t, n_vocab, plan) for p, t in PROMPTS}
    ok_all = True
    for typ in TYPES_OF[key.split("-")[1]]:
        gguf = os.path.join(tmp, f"{key}.{typ}.gguf")
        t = time.time()
        out, rss = timed([args.bin, "convert", folder, "--to", "gguf", "--type", typ, "--output", gguf, "--json"],
                         f"llm-drop convert {key} --to gguf --type {typ}")
        secs = time.time() - t
        arch = json.loads(out).get("architecture") or inspect(args, gguf)["architecture"]
        ours = {p: llmdrop_logits(args, gguf, txt, n_vocab) for p, txt in PROMPTS}
        prompts = [{"name": p, "text": txt, "ids": ours[p][0]} for p, txt in PROMPTS]
        lc = LlamaCppResult(gguf, args.threads, prompts, tmp)
        res = {"source": key, "type": typ, "file_mb": os.path.getsize(gguf) / 1e6, "convert_seconds": secs,
               "convert_peak_mb": rss, "architecture": arch, "loaded": lc.loaded and not lc.error,
               "error": lc.reason if lc.error else None, "prompts": []}
        ok = res["loaded"]
        f32 = None
        for p, txt in PROMPTS:
            ids, mine = ours[p]
            r = {"prompt": p, "tokens": len(ids), "ids_equal_source": ids == src[p][0],
                 "rel_l2_llm_drop_vs_source": rel_l2(mine, src[p][1])}
            if res["loaded"]:
                theirs = lc.logits[p]
                m = lcp.compare(mine, theirs)
                r.update(rel_l2=rel_l2(theirs, mine), top1_llm_drop=m["ref_best"], top1_llama_cpp=m["lc_best"],
                         rel_l2_centered=rel_l2(theirs - theirs.mean(), mine - mine.mean()),
                         max_dlogp_top20=m["lp"], llama_cpp_tokens_equal=lc.tokenized.get(p) == ids)
                r["top1_same"] = r["top1_llm_drop"] == r["top1_llama_cpp"]
                r["top1_tie"] = not r["top1_same"] and m["margin"] < TIE  # llm-drop's own log-prob margin
            res["prompts"].append(r)
        if res["loaded"]:
            worst = max(r["rel_l2"] for r in res["prompts"])
            top_ok = all(r["top1_same"] for r in res["prompts"])
            ties_ok = all(r["top1_same"] or r["top1_tie"] for r in res["prompts"])
            tok_ok = all(r["llama_cpp_tokens_equal"] and r["ids_equal_source"] for r in res["prompts"])
            ok = top_ok and tok_ok and worst <= args.tol
            if typ != "F32" and (worst > args.tol or not top_ok):
                # llama.cpp's F32 copy of this very file: the same weights without its quantized arithmetic
                path32 = dequantize(gguf, gguf[:-5] + ".f32copy.gguf", args.threads)
                lc32 = LlamaCppResult(path32, args.threads, [dict(q, text=None) for q in prompts], tmp)
                if lc32.loaded and not lc32.error:
                    f32 = max(rel_l2(lc32.logits[p], ours[p][1]) for p, _ in PROMPTS)
                    res["llama_cpp_f32_copy_rel_l2"] = f32
                    top32 = all(int(np.argmax(lc32.logits[p])) == int(np.argmax(ours[p][1])) for p, _ in PROMPTS)
                    if f32 <= args.tol and top32 and tok_ok and (top_ok or typ == "Q4_0" and ties_ok):
                        ok = True
                        res["note"] = f"llama.cpp's F32 copy of the file matches ({f32:.1e})" + (
                            "" if top_ok else "; top-1 differs only at near ties")
                else:
                    res["llama_cpp_f32_copy_error"] = lc32.reason
            res["max_rel_l2"] = worst
            res["max_rel_l2_centered"] = max(r["rel_l2_centered"] for r in res["prompts"])
            res["max_dlogp_top20"] = max(r["max_dlogp_top20"] for r in res["prompts"])
        res["ok"] = bool(ok)
        ok_all &= ok
        results.append(res)
        rows.append(res)
        log(f"{key} {typ}: {arch}, {res['file_mb']:.0f} MB, convert {secs:.1f} s / {rss:.0f} MB; llama.cpp "
            + (f"rel L2 {res['max_rel_l2']:.2e}" + (f" (its F32 copy {f32:.1e})" if f32 is not None else "")
               if res["loaded"] else f"did not run it: {res['error']}") + f" -> {'ok' if ok else 'FAIL'}")
    return ok_all


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True, help="SmolLM2-135M GGUF")
    ap.add_argument("--gemma3", help="Gemma 3 270M GGUF")
    ap.add_argument("--calibration", required=True)
    ap.add_argument("--hf-python", help="a Python with torch + transformers + gguf (.venv-hf): transformers-written folders too")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--out", default="out/check-llamacpp-convert")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", help="comma-separated source keys")
    ap.add_argument("--kv", choices=["f32", "f16"], default="f32",
                    help="llama.cpp's KV cache type (its default F16 rounds K and V: ~1e-3 of the logits)")
    args = ap.parse_args()
    os.environ["CHECK_LLAMACPP_KV"] = args.kv  # read by check-llamacpp.py's worker
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "work")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    t0 = time.time()
    rows, results, failures = [], [], []
    try:
        for key, folder, ref, plan in sources(args, tmp):
            try:
                if not check(args, tmp, key, folder, ref, plan, rows, results):
                    failures.append(key)
            except RuntimeError as exc:
                failures.append(f"{key}: {exc}")
                log(f"{key}: {exc}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nllama.cpp (llama-cpp-python {lcp.llama_cpp.__version__}) on GGUFs written by `llm-drop convert --to gguf`: "
          f"last-position logits vs llm-drop on the same file ({len(PROMPTS)} prompts, worst shown)")
    hdr = (f"{'source':<15} {'type':<5} {'arch':<6} {'MB':>5} {'conv s':>6} {'conv MB':>7} {'llama.cpp':<9} "
           f"{'rel L2':>8} {'centred':>8} {'dlogp':>6} {'F32 copy':>8} {'top-1':>5} {'tokens':>6} {'vs source':>9}  verdict")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ps = r["prompts"]
        top = f"{sum(p.get('top1_same', False) for p in ps)}/{len(ps)}"
        tok = f"{sum(bool(p.get('llama_cpp_tokens_equal')) and p['ids_equal_source'] for p in ps)}/{len(ps)}"
        src = max(p["rel_l2_llm_drop_vs_source"] for p in ps)
        f32 = f"{r['llama_cpp_f32_copy_rel_l2']:.1e}" if "llama_cpp_f32_copy_rel_l2" in r else "-"
        l2 = f"{r['max_rel_l2']:.1e}" if "max_rel_l2" in r else "-"
        cen = f"{r['max_rel_l2_centered']:.1e}" if "max_rel_l2" in r else "-"
        dlp = f"{r['max_dlogp_top20']:.3f}" if "max_rel_l2" in r else "-"
        print(f"{r['source']:<15} {r['type']:<5} {r['architecture']:<6} {r['file_mb']:>5.0f} {r['convert_seconds']:>6.1f} "
              f"{r['convert_peak_mb']:>7.0f} {'loaded' if r['loaded'] else 'NO':<9} {l2:>8} {cen:>8} {dlp:>6} {f32:>8} {top:>5} {tok:>6} "
              f"{src:>9.1e}  {'ok' if r['ok'] else 'FAIL'}" + (f"  [{r['note']}]" if r.get("note") else "")
              + (f"  [{r['error']}]" if r.get("error") else ""))
    for n in NOTES:
        print(f"note: {n}")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"llama_cpp_python": lcp.llama_cpp.__version__, "tolerance": args.tol, "kv_cache": args.kv, "notes": NOTES,
                   "results": results, "failures": failures}, f, indent=1)
    print(f"\n{len(rows)} converted files checked in {time.time() - t0:.0f} s; results in {args.out}/results.json")
    if failures:
        print(f"check-llamacpp-convert: FAILED: {failures}", file=sys.stderr)
        return 1
    print("check-llamacpp-convert: OK: llama.cpp runs every converted file with llm-drop's logits and ids")
    return 0


if __name__ == "__main__":
    sys.exit(main())
