"""make check-hf (see scripts/check-hf.sh): transformers loads the Hugging Face folders llm-drop writes from
SmolLM2's and Gemma 3's GGUFs — full and with whole blocks dropped — and computes llm-drop's logits; its
AutoTokenizer gives llm-drop's ids. And the other way: transformers writes a folder from each GGUF itself
(an independent producer), which llm-drop loads with transformers' logits and its own GGUF logits. Prints a
table per model and exits non-zero on any mismatch."""
import argparse, json, os, shutil, subprocess, sys, time

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "In 1492, Columbus sailed the ocean blue. Twenty-three years later, 4,096 sailors",
    "Émile a mangé 3 croissants — «très bon» 😀  and then   some spaces",
]
TOL = 1e-3


def run(cmd, measure=False):
    """Runs llm-drop; returns stdout (and seconds, peak RSS in MB of that process when measure)."""
    start = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    # The child's own peak RSS: wait4 has already been done by communicate; use /proc-free getrusage delta.
    if p.returncode != 0:
        sys.exit(f"check-hf: {' '.join(cmd)} failed:\n{err.decode()}")
    return out.decode(), time.time() - start


def timed(cmd):
    """seconds and peak RSS (MB) of one llm-drop run, through /usr/bin/time."""
    start = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"check-hf: {' '.join(cmd)} failed:\n{p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return time.time() - start, rss_kb / 1024


def ours(bin_, model, text, threads, plan=None):
    cmd = [bin_, "generate", model, "--prompt", text, "--max-tokens", "0", "--top-logits", "1000000", "--threads", str(threads), "--json"]
    if plan:
        cmd += ["--drop-plan", plan]
    out, _ = run(cmd)
    j = json.loads(out)
    top = j["top_logits"]
    v = np.full(max(t["id"] for t in top) + 1, np.nan, dtype=np.float64)
    for t in top:
        v[t["id"]] = t["logit"]
    return j["prompt_ids"], v


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def check_folder(args, name, gguf, folder, plan, rows):
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    ok = True
    for text in PROMPTS:
        ids, mine = ours(args.bin, folder, text, args.threads)
        _, from_gguf = ours(args.bin, gguf, text, args.threads, plan)
        hf_ids = tok(text)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1].double().numpy()
        n = min(len(logits), len(mine))
        e_hf = rel_l2(mine[:n], logits[:n])
        e_gguf = rel_l2(mine, from_gguf)
        top_same = int(np.argmax(logits[:n])) == int(np.nanargmax(mine[:n]))
        ids_same = hf_ids == ids
        ok &= e_hf <= TOL and top_same and ids_same
        rows.append((name, repr(text[:28]), len(ids), ids_same, e_hf, e_gguf, top_same))
    return ok


def transformers_folder(gguf, out):
    """The folder transformers writes from a GGUF: from_pretrained(gguf_file=…) dequantises to f32, then
    save_pretrained. transformers refuses to save a model it still marks as GGUF-quantised, though its
    tensors are plain f32 by then; the mark is dropped first."""
    d, f = os.path.dirname(gguf), os.path.basename(gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(d, gguf_file=f).save_pretrained(out)


def tokenizer_agreement(args, key, gguf, folder):
    """AutoTokenizer on the folder vs llm-drop's GGUF tokenizer on the reference strings (with and without
    special tokens): (agreeing, total)."""
    ref = json.load(open(os.path.join(os.path.dirname(__file__), "..", "Tests/Fixtures/reference/hf/ids.json")))
    cases = ref["smollm2" if key == "smollm2" else "gemma3"]["cases"]
    tok = AutoTokenizer.from_pretrained(folder)
    agree = total = 0
    for text in cases:
        for special in (False, True):
            out, _ = run([args.bin, "tokenize", gguf, text, "--json"] + ([] if special else ["--no-special"]))
            total += 1
            agree += json.loads(out)["ids"] == tok(text, add_special_tokens=special)["input_ids"]
    return agree, total


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--bin", required=True)
    a.add_argument("--model", required=True)
    a.add_argument("--gemma3", default="none")
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--out", default="out/check-hf")
    a.add_argument("--keep", action="store_true")
    args = a.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    models = [("smollm2", args.model, [3, 7, 11, 15, 19, 23])]
    if args.gemma3 != "none":
        models.append(("gemma3-270m", args.gemma3, [1, 5, 9, 13]))   # layer 5 is global: its successor takes its place
    rows, conv, tok_rows, ok = [], [], [], True
    for key, gguf, blocks in models:
        full = os.path.join(args.out, f"{key}-hf")
        sec, mb = timed([args.bin, "convert", gguf, "--to", "hf", "--type", "F32", "--output", full, "--json"])
        conv.append((key, "GGUF → HF (F32)", sec, mb))
        back = os.path.join(args.out, f"{key}-back.gguf")
        sec, mb = timed([args.bin, "convert", full, "--to", "gguf", "--type", "F16", "--output", back, "--json"])
        conv.append((key, "HF → GGUF (F16)", sec, mb))
        plan = os.path.join(args.out, f"{key}-blocks.json")
        with open(plan, "w") as f:
            json.dump({"dropped_blocks": blocks}, f)
        dropped = os.path.join(args.out, f"{key}-hf-blocks")
        run([args.bin, "convert", gguf, "--to", "hf", "--type", "F32", "--drop-plan", plan, "--output", dropped, "--json"])
        ok &= check_folder(args, f"{key} full", gguf, full, None, rows)
        agree, total = tokenizer_agreement(args, key, gguf, full)
        tok_rows.append((key, agree, total))
        ok &= agree == total
        ok &= check_folder(args, f"{key} −{len(blocks)} blocks", gguf, dropped, plan, rows)
        written = os.path.join(args.out, f"{key}-by-transformers")
        transformers_folder(gguf, written)
        ok &= check_folder(args, f"{key} by transformers", gguf, written, None, rows)
    print(f"\n{'model':<22} {'prompt':<32} {'T':>3} {'ids = AutoTokenizer':>19} {'rel L2 vs transformers':>22} {'rel L2 vs GGUF':>15} top-1")
    for r in rows:
        print(f"{r[0]:<22} {r[1]:<32} {r[2]:>3} {str(r[3]):>19} {r[4]:>22.2e} {r[5]:>15.2e} {'same' if r[6] else 'DIFFERENT'}")
    for key, agree, total in tok_rows:
        print(f"{key}: AutoTokenizer on the written tokenizer.json = llm-drop's GGUF ids on {agree}/{total} reference encodings")
    print(f"\n{'model':<14} {'conversion':<18} {'seconds':>8} {'peak RSS MB':>12}")
    for c in conv:
        print(f"{c[0]:<14} {c[1]:<18} {c[2]:>8.1f} {c[3]:>12.0f}")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)
    print("\ncheck-hf: " + ("every folder loads in transformers with llm-drop's logits and ids" if ok else "MISMATCH (see the table)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
