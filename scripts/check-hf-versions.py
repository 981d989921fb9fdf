"""Do older transformers read the config.json / tokenizer.json spellings llm-drop writes? Run with the Python of a venv
holding the transformers to test (e.g. .venv-llmdrop: 4.38.2; .venv-hf with PYTHONPATH=.venv-hf/converter-site: 4.57.6):

    PY scripts/check-hf-versions.py --bin LLM_DROP FOLDER...

For each folder (written by `llm-drop convert --to hf`): AutoConfig, AutoTokenizer and AutoModelForCausalLM load it (an
architecture this transformers does not know is reported as such, not a failure), AutoTokenizer's ids equal llm-drop's,
and the last-position logits equal `llm-drop generate FOLDER` (relative L2 <= 1e-3, same top-1). Writes JSON to --json."""
import argparse, json, subprocess, sys

import numpy as np
import torch
import tokenizers
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

PROMPT = "The capital of France is Paris, and 12345 people"


def ours(bin_, folder):
    p = subprocess.run([bin_, "generate", folder, "--prompt", PROMPT, "--max-tokens", "0", "--top-logits", "10000000",
                        "--threads", "2", "--json"], capture_output=True, text=True, check=True)
    j = json.loads(p.stdout)
    v = np.zeros(max(t["id"] for t in j["top_logits"]) + 1)
    for t in j["top_logits"]:
        v[t["id"]] = t["logit"]
    return j["prompt_ids"], v


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--bin", required=True)
    a.add_argument("--json")
    a.add_argument("folders", nargs="+")
    args = a.parse_args()
    torch.set_num_threads(2)
    out, ok = [], True
    ver = f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, torch {torch.__version__}"
    print(ver)
    for f in args.folders:
        r = {"folder": f}
        cfg = json.load(open(f + "/config.json"))
        r["architecture"] = cfg["architectures"][0]
        try:
            c = AutoConfig.from_pretrained(f)
        except Exception as e:
            r["config"] = f"refused: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
            out.append(r)
            print(f"{f}: {r['architecture']}: {r['config']}")
            continue
        r["config"] = "ok"
        r["rope_theta_read"] = getattr(c, "rope_theta", None) or (getattr(c, "rope_parameters", None) or {}).get("rope_theta")
        r["rope_theta_written"] = cfg.get("rope_theta")
        try:
            tok = AutoTokenizer.from_pretrained(f)
            ids, mine = ours(args.bin, f)
            r["ids_equal"] = tok(PROMPT)["input_ids"] == ids
        except Exception as e:
            r["tokenizer"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
            ids, mine = ours(args.bin, f)
        m = AutoModelForCausalLM.from_pretrained(f, torch_dtype=torch.float32)
        m.eval()
        with torch.no_grad():
            logits = m(torch.tensor([ids])).logits[0, -1].double().numpy()
        n = min(len(logits), len(mine))
        r["rel_l2"] = float(np.linalg.norm(logits[:n] - mine[:n]) / np.linalg.norm(mine[:n]))
        r["top1_same"] = int(np.argmax(logits[:n])) == int(np.argmax(mine[:n]))
        r["class"] = type(m).__name__
        good = r["rel_l2"] <= 1e-3 and r["top1_same"] and r.get("ids_equal", False) \
            and r["rope_theta_read"] == r["rope_theta_written"]
        ok &= good
        print(f"{f}: {r['class']}: ids equal {r.get('ids_equal', r.get('tokenizer'))}, rope_theta {r['rope_theta_read']}, "
              f"rel L2 {r['rel_l2']:.2e}, top-1 {'same' if r['top1_same'] else 'DIFFERENT'}")
        out.append(r)
    if args.json:
        json.dump({"versions": ver, "results": out}, open(args.json, "w"), indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
