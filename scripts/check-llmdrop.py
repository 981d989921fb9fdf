"""make check-llmdrop (see scripts/check-llmdrop.sh): the paper's own modeling code (LLM-Drop's
modeling_dropped_llama.py, github.com/CASE-Lab-UMD/LLM-Drop, written for transformers 4.38) loads the
sublayer-dropped Hugging Face folders llm-drop writes for SmolLM2-135M, and computes llm-drop's logits.

Cases (SmolLM2-135M-Instruct, 30 layers; plans chosen by llm-drop's scores on the calibration text, once):
  attention-8  `drop --target attention --count 8 --output DIR --format hf`
  mlp-4        `drop --target mlp --count 4 ...`
  joint-8      `drop --target joint --count 8 ...` (attention and MLP ranked together)
  manual       `convert --to hf --drop-plan` of attention [0, 5, 12] and MLP [12, 29]: layer 0's attention
               (LLM-Drop renumbers the KV cache of the attention layers that remain), the last MLP, and layer 12
               with both sublayers gone, which llm-drop writes as a removed block (29 layers remain: attention
               [0, 5] and MLP [28] in drop_attn_list / drop_mlp_list).
Each folder is loaded the way LLM-Drop's own prune code saves and loads its models (layer_drop.py's
post_layers_drop): its configuration_dropped_llama.py and modeling_dropped_llama.py beside the weights, an
`auto_map` in config.json, AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True). The loadable
folder lives under --out (git-ignored): llm-drop's files are symlinked into it, LLM-Drop's two files copied from
the checkout given (nothing of LLM-Drop enters this repository). Checked per folder:
  * the model class is LLM-Drop's (its module is modeling_dropped_llama), no missing or unexpected weights, and
    exactly the layers of drop_attn_list / drop_mlp_list have no self_attn / mlp;
  * transformers 4.38's AutoTokenizer on the folder gives llm-drop's ids;
  * per prompt: LLM-Drop's last-position logits vs `llm-drop generate DIR` and vs `llm-drop generate GGUF
    --drop-plan PLAN` (the plan applied at load): relative L2 <= 1e-3 and the same top-1; and the greedy
    continuation (LLM-Drop's generate, with its KV cache, vs llm-drop's) of --gen-tokens tokens.
Prints a table, writes the results to --out/results.json, exits non-zero on any mismatch."""
import argparse, importlib.util, json, os, shutil, subprocess, sys, time

import numpy as np
import torch
import tokenizers
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

# check-hf.py's prompts and helpers (run, rel_l2)
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing a sibling script
_spec = importlib.util.spec_from_file_location("check_hf", os.path.join(os.path.dirname(__file__), "check-hf.py"))
check_hf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_hf)
PROMPTS, run, rel_l2 = check_hf.PROMPTS, check_hf.run, check_hf.rel_l2
TOL = 1e-3
MODELS = "src/llmtuner/compression/prune/models"
FILES = ("configuration_dropped_llama.py", "modeling_dropped_llama.py")
AUTO_MAP = {"AutoConfig": "configuration_dropped_llama.LlamaConfig",
            "AutoModelForCausalLM": "modeling_dropped_llama.LlamaForCausalLM"}


def say(msg):
    print(f"check-llmdrop: {msg}", file=sys.stderr, flush=True)


def ours(args, model, text, plan=None):
    """llm-drop's prompt ids, all last-position logits and greedy continuation."""
    cmd = [args.bin, "generate", model, "--prompt", text, "--max-tokens", str(args.gen_tokens), "--top-logits",
           "1000000", "--threads", str(args.threads), "--json"]
    if plan:
        cmd += ["--drop-plan", plan]
    j = json.loads(run(cmd)[0])
    top = j["top_logits"]
    v = np.full(max(t["id"] for t in top) + 1, np.nan, dtype=np.float64)
    for t in top:
        v[t["id"]] = t["logit"]
    return j["prompt_ids"], v, j["generated_ids"]


def loadable(args, folder, name):
    """folder as LLM-Drop saves it: llm-drop's files (symlinked), LLM-Drop's config and modeling files, auto_map."""
    dst = os.path.join(args.out, f"{name}-llmdrop")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for f in os.listdir(folder):
        if f != "config.json":
            os.symlink(os.path.abspath(os.path.join(folder, f)), os.path.join(dst, f))
    for f in FILES:
        shutil.copy(os.path.join(args.models_dir, f), dst)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    cfg["auto_map"] = AUTO_MAP
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return dst, cfg


def check_case(args, name, folder, plan, rows, results):
    say(f"{name}: loading {folder} with LLM-Drop's modeling_dropped_llama (transformers {transformers.__version__})")
    dst, cfg = loadable(args, folder, name)
    t = time.time()
    model, info = AutoModelForCausalLM.from_pretrained(dst, trust_remote_code=True, torch_dtype=torch.float32,
                                                       output_loading_info=True)
    model.eval()
    load_s = time.time() - t
    problems = []
    module = type(model).__module__
    if not module.endswith("modeling_dropped_llama"):
        problems.append(f"loaded as {module}.{type(model).__name__}, not LLM-Drop's class")
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(k):
            problems.append(f"{k}: {list(info[k])[:6]}")
    attn, mlp = cfg["drop_attn_list"], cfg["drop_mlp_list"]
    layers = model.model.layers
    no_attn = [i for i, l in enumerate(layers) if l.self_attn is None]
    no_mlp = [i for i, l in enumerate(layers) if l.mlp is None]
    if no_attn != [i for i, d in enumerate(attn) if d] or no_mlp != [i for i, d in enumerate(mlp) if d]:
        problems.append(f"layers without attention {no_attn} / MLP {no_mlp} differ from the config's lists")
    try:
        tok = AutoTokenizer.from_pretrained(folder)
    except Exception as exc:  # an HF tokenizers version that cannot read the file: a finding, not the end of the check
        tok = None
        problems.append(f"AutoTokenizer cannot read {folder}/tokenizer.json: {exc}")
    ok = not problems
    case = {"case": name, "folder": folder, "plan": json.load(open(plan)), "class": f"{module}.{type(model).__name__}",
            "attn_implementation": getattr(model.config, "_attn_implementation", None), "load_seconds": load_s,
            "dropped_attention": no_attn, "dropped_mlp": no_mlp, "problems": problems, "prompts": []}
    for text in PROMPTS:
        ids, mine, gen = ours(args, folder, text)
        ids_gguf, from_gguf, gen_gguf = ours(args, args.model, text, plan)
        hf_ids = tok(text)["input_ids"] if tok else None
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x).logits[0, -1].double().numpy()
            out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=args.gen_tokens,
                                 do_sample=False, pad_token_id=cfg.get("pad_token_id"))
        theirs_gen = out[0, len(ids):].tolist()
        n = min(len(logits), len(mine))
        e_dir, e_gguf = rel_l2(logits[:n], mine[:n]), rel_l2(logits[:n], from_gguf[:n])
        top = int(np.argmax(logits[:n]))
        top_same = top == int(np.nanargmax(mine[:n])) == int(np.nanargmax(from_gguf[:n]))
        # greedy runs may part at an exact near-tie; count the tokens they share from the start
        common = next((i for i, (a, b) in enumerate(zip(theirs_gen, gen)) if a != b), min(len(gen), len(theirs_gen)))
        p_ok = e_dir <= TOL and e_gguf <= TOL and top_same and hf_ids == ids and ids_gguf == ids \
            and gen == gen_gguf and common == len(gen)
        ok &= p_ok
        case["prompts"].append({"prompt": text, "tokens": len(ids), "ids_equal_autotokenizer": hf_ids == ids,
                                "rel_l2_vs_llm_drop_folder": e_dir, "rel_l2_vs_llm_drop_gguf_plan": e_gguf,
                                "top1": top, "top1_same": top_same, "greedy_llm_drop": gen, "greedy_llmdrop_code": theirs_gen,
                                "greedy_common_prefix": common, "ok": p_ok})
        rows.append((name, repr(text[:24]), len(ids), hf_ids == ids, e_dir, e_gguf, top_same, f"{common}/{len(gen)}"))
    case["ok"] = ok
    results.append(case)
    for p in problems:
        say(f"{name}: {p}")
    del model
    return ok


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--bin", required=True)
    a.add_argument("--model", required=True, help="SmolLM2-135M GGUF")
    a.add_argument("--llm-drop", required=True, help="LLM-Drop checkout (or its prune/models folder)")
    a.add_argument("--calibration", required=True)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--gen-tokens", type=int, default=16)
    a.add_argument("--out", default="out/check-llmdrop")
    a.add_argument("--keep", action="store_true")
    args = a.parse_args()
    torch.set_num_threads(args.threads)
    args.models_dir = args.llm_drop if os.path.exists(os.path.join(args.llm_drop, FILES[1])) \
        else os.path.join(args.llm_drop, MODELS)
    for f in FILES:
        if not os.path.isfile(os.path.join(args.models_dir, f)):
            sys.exit(f"check-llmdrop: {os.path.join(args.models_dir, f)} not found; give a checkout of "
                     "github.com/CASE-Lab-UMD/LLM-Drop")
    os.makedirs(args.out, exist_ok=True)
    os.environ.setdefault("HF_MODULES_CACHE", os.path.abspath(os.path.join(args.out, "hf-modules")))
    say(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, LLM-Drop files from {args.models_dir}")
    scores = os.path.join(args.out, "scores.json")
    say("scoring SmolLM2 once (llm-drop score)")
    run([args.bin, "score", args.model, "--calibration", args.calibration, "--threads", str(args.threads),
         "--output", scores, "--json"])
    cases = []
    for name, target, count in (("attention-8", "attention", 8), ("mlp-4", "mlp", 4), ("joint-8", "joint", 8)):
        folder, plan = os.path.join(args.out, name), os.path.join(args.out, f"{name}-plan.json")
        say(f"{name}: llm-drop drop --target {target} --count {count} --format hf")
        run([args.bin, "drop", args.model, "--target", target, "--count", str(count), "--scores", scores,
             "--output", folder, "--format", "hf", "--plan-out", plan, "--threads", str(args.threads), "--json"])
        cases.append((name, folder, plan))
    name = "manual"
    folder, plan = os.path.join(args.out, name), os.path.join(args.out, f"{name}-plan.json")
    with open(plan, "w") as f:
        json.dump({"dropped_attention": [0, 5, 12], "dropped_mlp": [12, 29], "dropped_blocks": [], "layers": 30,
                   "target": "joint", "method": "manual"}, f)
    say(f"{name}: llm-drop convert --to hf --drop-plan (attention 0, 5, 12; MLP 12, 29)")
    run([args.bin, "convert", args.model, "--to", "hf", "--drop-plan", plan, "--output", folder, "--json"])
    cases.append((name, folder, plan))

    rows, results, ok = [], [], True
    for name, folder, plan in cases:
        ok &= check_case(args, name, folder, plan, rows, results)
    print(f"\nLLM-Drop's modeling_dropped_llama (transformers {transformers.__version__}, torch {torch.__version__}) "
          f"on llm-drop's folders: last-position logits; greedy {args.gen_tokens} tokens")
    print(f"{'case':<12} {'prompt':<28} {'T':>3} {'ids = AutoTokenizer':>19} {'rel L2 vs folder':>16} "
          f"{'rel L2 vs GGUF+plan':>19} {'top-1':>6} {'greedy':>7}")
    for r in rows:
        print(f"{r[0]:<12} {r[1]:<28} {r[2]:>3} {str(r[3]):>19} {r[4]:>16.2e} {r[5]:>19.2e} "
              f"{'same' if r[6] else 'DIFF':>6} {r[7]:>7}")
    for c in results:
        print(f"{c['case']}: {c['class']} ({c['attn_implementation']}), no attention in {c['dropped_attention']}, "
              f"no MLP in {c['dropped_mlp']}" + (f"; PROBLEMS: {c['problems']}" if c["problems"] else ""))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__,
                   "tokenizers": tokenizers.__version__, "tolerance": TOL,
                   "cases": results, "ok": bool(ok)}, f, indent=1)
    if not args.keep:
        for name, folder, _ in cases:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(os.path.join(args.out, f"{name}-llmdrop"), ignore_errors=True)
    print("\ncheck-llmdrop: " + ("LLM-Drop's own code loads every folder with llm-drop's logits, ids and greedy tokens"
                                 if ok else "MISMATCH (see the table)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
