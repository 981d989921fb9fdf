#!/usr/bin/env python3
"""Makes the Hugging Face checkpoint fixtures in Tests/Fixtures/hf/ with independent producers.

Producers (none of them is LLMDrop):
  * the `tokenizers` library: small vocabularies cut from SmolLM2's tokenizer.json (byte-level BPE,
    Digits + ByteLevel pre-tokenizer) and Gemma 3's (SentencePiece-derived BPE with byte fallback,
    Replace(' ', '▁') normaliser, <bos> post-processor), and the token ids they give for a set of strings;
  * PyTorch + transformers: a tiny random-weight model of each family, saved with `save_pretrained`
    (safetensors; F32, F16 or BF16; one sharded), and its float32 logits at every position (eager attention).

Weights are rounded to the stored dtype before anything is computed, so the file holds exactly the
weights transformers used and the Swift side can be held to a relative L2 error of 1e-4.

Run (outside CI; a minute or two):  bash scripts/make-hf-fixtures.sh
Environment: HF_REFERENCE_DIR (default ../shared/reference/hf beside the checkout) holds smollm2/ and gemma3/
tokenizer files written by transformers.
Output: Tests/Fixtures/hf/<family>/{config.json, *.safetensors, tokenizer.json, ..., logits.json, prompt<i>.f32},
Tests/Fixtures/hf/tokenizers/<name>/ + ids.json.
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import torch
import transformers
from tokenizers import Tokenizer

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "hf")
REF = next(p for p in [os.environ.get("HF_REFERENCE_DIR", ""), os.path.join(ROOT, "..", "shared", "reference", "hf"),
                       "/work/shared/reference/hf"] if p and os.path.isdir(p))
SEED = 20240611

TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "In 1879, Thomas Edison demonstrated a practical incandescent light bulb that could glow for many hours, "
    "changing how people lived and worked after dark.",
    "Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker named "
    "Elias. Every morning he opened the shutters of his tiny shop, wound the hundred clocks that lined its "
    "walls, and listened to them tick in perfect agreement.",
]
LENGTHS = [6, 20, 36]   # the last two are longer than the sliding window (16)

# Strings for the tokenizer comparison: the shared reference cases plus some for the cut vocabularies.
EXTRA_STRINGS = ["<bos>hello<eos> world", "<start_of_turn>user\nhi<end_of_turn>\n", "a\n\n\nb", "  double  space ",
                 "ünïcödé ∑ 😀 text", "x<table>y</table>"]

COMMON = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=256)

FAMILIES = {
    "llama": dict(cls="LlamaForCausalLM", cfg="LlamaConfig", dtype="float32", tok="smollm2-1k",
                  kw=dict(num_hidden_layers=3, head_dim=16, rms_norm_eps=1e-5, tie_word_embeddings=True,
                          rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                                           "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                           "original_max_position_embeddings": 32},
                          attention_bias=False, mlp_bias=False, hidden_act="silu")),
    "qwen2": dict(cls="Qwen2ForCausalLM", cfg="Qwen2Config", dtype="bfloat16", tok="smollm2-1k", shard="100KB",
                  kw=dict(num_hidden_layers=3, rms_norm_eps=1e-6, tie_word_embeddings=False,
                          rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                          use_sliding_window=False, hidden_act="silu")),
    "qwen3": dict(cls="Qwen3ForCausalLM", cfg="Qwen3Config", dtype="float16", tok="smollm2-1k",
                  kw=dict(num_hidden_layers=3, head_dim=16, rms_norm_eps=1e-6, tie_word_embeddings=True,
                          rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
                          attention_bias=False, use_sliding_window=False, hidden_act="silu")),
    "mistral": dict(cls="MistralForCausalLM", cfg="MistralConfig", dtype="bfloat16", tok="smollm2-1k",
                    kw=dict(num_hidden_layers=3, head_dim=16, rms_norm_eps=1e-5, tie_word_embeddings=True,
                            rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
                            sliding_window=16, hidden_act="silu")),
    "gemma3": dict(cls="Gemma3ForCausalLM", cfg="Gemma3TextConfig", dtype="bfloat16", tok="gemma3-2k",
                   kw=dict(num_hidden_layers=6, head_dim=32, rms_norm_eps=1e-6, tie_word_embeddings=True,
                           query_pre_attn_scalar=32, sliding_window=16,
                           layer_types=["sliding_attention"] * 5 + ["full_attention"],
                           rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                           hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
                           attn_logit_softcapping=None)),
    "gemma3-f32": dict(cls="Gemma3ForCausalLM", cfg="Gemma3TextConfig", dtype="float32", tok="gemma3-2k",
                       kw=dict(num_hidden_layers=4, head_dim=16, rms_norm_eps=1e-6, tie_word_embeddings=True,
                               query_pre_attn_scalar=16, sliding_window=16,
                               layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
                               rope_parameters={"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0},
                                                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                               hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=30.0,
                               attn_logit_softcapping=None)),
}


def cut_tokenizer(src_dir, keep_below, name):
    """A tokenizer.json with the tokens of id < keep_below (plus every single character they are made of),
    renumbered in their original order, and the merges among them. The tokenizers library then defines
    the reference ids of this smaller vocabulary."""
    with open(os.path.join(src_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    kept = {t for t, i in vocab.items() if i < keep_below}
    if tj["model"].get("byte_fallback"):
        for t in list(kept):
            if not (t.startswith("<0x") and t.endswith(">")):
                kept.update(c for c in t if c in vocab)
    order = sorted(kept, key=lambda t: vocab[t])
    new_id = {t: i for i, t in enumerate(order)}
    tj["model"]["vocab"] = {t: new_id[t] for t in order}
    merges = []
    for m in tj["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in kept and b in kept and a + b in kept:
            merges.append(m)
    tj["model"]["merges"] = merges
    old_to_new = {vocab[t]: new_id[t] for t in order}
    tj["added_tokens"] = [dict(a, id=old_to_new[a["id"]]) for a in tj["added_tokens"] if a["id"] in old_to_new]
    pp = tj.get("post_processor")
    if pp and pp.get("type") == "TemplateProcessing":
        for st in pp.get("special_tokens", {}).values():
            st["ids"] = [old_to_new[i] for i in st["ids"]]
    out_dir = os.path.join(OUT, "tokenizers", name)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))
    shutil.copy(os.path.join(src_dir, "tokenizer_config.json"), out_dir)
    print(f"{name}: {len(order)} tokens, {len(merges)} merges", flush=True)
    return out_dir, len(order)


def strings_to_check():
    with open(os.path.join(REF, "ids.json"), encoding="utf-8") as f:
        cases = list(json.load(f)["smollm2"]["cases"])
    return cases + EXTRA_STRINGS


def reference_ids(tok_dir):
    tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    return {s: {"ids": tok.encode(s, add_special_tokens=False).ids,
                "ids_with_special": tok.encode(s, add_special_tokens=True).ids} for s in strings_to_check()}


def init_weights(model, gemma, dtype, gen):
    """Matrices and biases N(0, 0.1^2), norm weights ~1 (Gemma: w ~ N(0, 0.1^2) since it uses 1+w), then
    rounded to the stored dtype."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            val = (0.1 * noise if gemma else 1.0 + 0.1 * noise) if name.endswith("norm.weight") else 0.1 * noise
            p.copy_(val.to(dtype).float())


def make_family(name, spec, tok_dirs, vers):
    print(f"== {name}", flush=True)
    tok_dir, vocab = tok_dirs[spec["tok"]]
    tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    with open(os.path.join(tok_dir, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    gemma = name.startswith("gemma3")
    bos = tok.token_to_id(tcfg["bos_token"])
    eos = tok.token_to_id(tcfg["eos_token"])
    pad = tok.token_to_id(tcfg.get("pad_token") or tcfg["eos_token"])
    kw = dict(COMMON, vocab_size=vocab, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    kw.update(spec["kw"])
    config = getattr(transformers, spec["cfg"])(**kw)
    config._attn_implementation = "eager"
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16))
    model_cls = getattr(transformers, spec["cls"])
    model = model_cls(config)
    dtype = getattr(torch, spec["dtype"])
    init_weights(model, gemma, dtype, gen)
    model.eval()

    fam_dir = os.path.join(OUT, name)
    if os.path.isdir(fam_dir):
        shutil.rmtree(fam_dir)
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "m")
        model.to(dtype).save_pretrained(saved, safe_serialization=True, max_shard_size=spec.get("shard", "50GB"))
        shutil.copytree(saved, fam_dir)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), fam_dir)
    # Reference logits from the model reloaded from the very folder LLMDrop reads, computed in float32.
    model = model_cls.from_pretrained(fam_dir, attn_implementation="eager", dtype=torch.float32)
    model.eval()

    prompts = []
    for i, (text, n) in enumerate(zip(TEXTS, LENGTHS)):
        ids = tok.encode(text, add_special_tokens=True).ids
        assert len(ids) >= n, (len(ids), n)
        ids = ids[:n]
        with torch.no_grad():
            logits = model(torch.tensor([ids]), use_cache=False).logits[0].float().numpy()
        assert logits.shape == (n, vocab)
        fname = f"prompt{i}.f32"
        np.ascontiguousarray(logits).astype("<f4").tofile(os.path.join(fam_dir, fname))
        prompts.append({"text": text, "ids": ids, "T": n, "logits_file": fname, "shape": [n, vocab],
                        "argmax": [int(v) for v in logits.argmax(-1)]})
    doc = {"family": name, "hf_class": spec["cls"], "dtype": spec["dtype"], "tokenizer": spec["tok"], "vocab_size": vocab,
           "sharded": "shard" in spec, "seed": SEED, "tolerance_relative_l2": 1e-4,
           "binary_format": "little-endian float32, row-major [T, vocab], every position",
           "config": json.loads(config.to_json_string()), "versions": vers, "prompts": prompts}
    with open(os.path.join(fam_dir, "logits.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"  {sorted(os.listdir(fam_dir))}", flush=True)


def main():
    vers = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
            "numpy": np.__version__}
    for pkg in ("safetensors", "tokenizers"):
        vers[pkg] = importlib.metadata.version(pkg)
    os.makedirs(OUT, exist_ok=True)
    tok_dirs = {"smollm2-1k": cut_tokenizer(os.path.join(REF, "smollm2"), 1024, "smollm2-1k"),
                "gemma3-2k": cut_tokenizer(os.path.join(REF, "gemma3"), 2048, "gemma3-2k")}
    ids = {name: reference_ids(d) for name, (d, _) in tok_dirs.items()}
    with open(os.path.join(OUT, "tokenizers", "ids.json"), "w", encoding="utf-8") as f:
        json.dump({"producer": f"tokenizers {vers['tokenizers']} (Tokenizer.from_file(...).encode)", "tokenizers": ids},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    names = sys.argv[1:] or list(FAMILIES)
    for n in names:
        make_family(n, FAMILIES[n], tok_dirs, vers)


if __name__ == "__main__":
    main()
