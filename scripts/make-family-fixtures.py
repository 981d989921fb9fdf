#!/usr/bin/env python3
"""Makes the per-family fixtures in Tests/Fixtures/families/ with independent producers.

Producers (none of them is LLMDrop):
  * PyTorch + transformers build a tiny random-weight model of each family and compute its logits
    in float32 with eager attention (the reference numbers);
  * llama.cpp's own converter, convert_hf_to_gguf.py (from the llama-cpp-python sdist, run in place,
    never copied), turns the saved HF folder into the GGUF;
  * the `gguf` package's GGUFReader reads the GGUF back, and a small numpy forward pass written from
    llama.cpp's semantics (rope type per arch, SWA pattern, stored norm weights) checks that the GGUF
    alone reproduces the reference logits (the "self-check" figures in each logits.json).

Families: llama (control; HF->GGUF Q/K permutation), qwen2 (q/k/v biases, untied lm_head),
qwen3 (per-head q_norm/k_norm), mistral (sliding_window 16), gemma3 (text-only, 5 sliding + 1 global
layer, separate local/global rope bases, head_dim 32 != hidden/heads).

Every weight is rounded to float16 before anything is computed, so the F16 GGUF holds exactly the
weights transformers used and the Swift side can be held to a relative L2 error of 1e-4.

Run (outside CI; about 2 minutes on one core once the venv exists):
    bash scripts/make-family-fixtures.sh          # makes .venv-hf, fetches the sdist, runs this
or, with a ready venv and an unpacked llama-cpp-python 0.3.36 sdist:
    LLAMA_CPP_DIR=/tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp \\
        .venv-hf/bin/python scripts/make-family-fixtures.py [family ...]
Environment: LLAMA_CPP_DIR (required: the sdist's vendor/llama.cpp), SMOLLM2_TOKENIZER_DIR (default
../shared/reference/hf/smollm2 beside the checkout, else /work/shared/reference/hf/smollm2).
Output: Tests/Fixtures/families/<family>/{model.gguf, logits.json, prompt<i>_cols.f32, prompt<i>_last.f32}
"""
import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer

torch.set_num_threads(1)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "families")
LLAMA_CPP_DIR = os.environ.get("LLAMA_CPP_DIR", "")
_tok_candidates = [os.environ.get("SMOLLM2_TOKENIZER_DIR", ""),
                   os.path.join(ROOT, "..", "shared", "reference", "hf", "smollm2"),
                   "/work/shared/reference/hf/smollm2"]
# The converter pins transformers==4.57.6 (requirements/requirements-convert_hf_to_gguf.txt). With
# transformers 5, AutoTokenizer forces Qwen2Tokenizer for model_type qwen2, which re-tokenises SmolLM2's
# vocabulary differently, and the converter then rejects the pre-tokenizer hash. So the converter runs
# with the pinned transformers (plus tokenizers / huggingface-hub it needs) from this folder, put first
# on its PYTHONPATH; torch, numpy, sentencepiece and the sdist's own gguf-py are shared.
CONVERTER_SITE = os.environ.get("CONVERTER_SITE", os.path.join(ROOT, ".venv-hf", "converter-site"))
if not os.path.isdir(CONVERTER_SITE):
    CONVERTER_SITE = ""
TOKENIZER_DIR = next((p for p in _tok_candidates if p and os.path.isfile(os.path.join(p, "tokenizer.json"))), None)

SEED = 20240611
VOCAB = 49152
STRIDE = 16          # logits columns kept for every position: ids 0, 16, 32, ...
TOLERANCE = 1e-4     # relative L2 error the Swift side should meet

TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "In 1879, Thomas Edison demonstrated a practical incandescent light bulb that could glow for many hours, "
    "changing how people lived and worked after dark.",
    "Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker named "
    "Elias. Every morning he opened the shutters of his tiny shop, wound the hundred clocks that lined its "
    "walls, and listened to them tick in perfect agreement. Children from the village often pressed their "
    "noses against the window to watch him work, because he could mend anything: pocket watches, music "
    "boxes, even the church bell when its rope snapped during the winter festival.",
]

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
              pad_token_id=2)

FAMILIES = {
    "llama": dict(
        cls="LlamaForCausalLM", cfg="LlamaConfig", lengths=[8, 20, 40],
        kw=dict(num_hidden_layers=4, head_dim=16, rms_norm_eps=1e-5, tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                attention_bias=False, mlp_bias=False, hidden_act="silu"),
        special="control: plain Llama; llama.cpp's converter permutes Q/K rows for its interleaved (NORM) rope",
    ),
    "qwen2": dict(
        cls="Qwen2ForCausalLM", cfg="Qwen2Config", lengths=[8, 20, 40],
        kw=dict(num_hidden_layers=4, rms_norm_eps=1e-6, tie_word_embeddings=False,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                use_sliding_window=False, hidden_act="silu"),
        special="q/k/v projections have biases (o_proj has none); NEOX rope; separate (untied) lm_head -> output.weight",
    ),
    "qwen3": dict(
        cls="Qwen3ForCausalLM", cfg="Qwen3Config", lengths=[8, 20, 40],
        kw=dict(num_hidden_layers=4, head_dim=16, rms_norm_eps=1e-6, tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
                attention_bias=False, use_sliding_window=False, hidden_act="silu"),
        special="per-head RMSNorm on q and k (q_norm/k_norm, weight [head_dim]) applied before rope; no biases; NEOX rope",
    ),
    "mistral": dict(
        cls="MistralForCausalLM", cfg="MistralConfig", lengths=[8, 20, 60],
        kw=dict(num_hidden_layers=4, head_dim=16, rms_norm_eps=1e-5, tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
                sliding_window=16, hidden_act="silu"),
        special="sliding_window 16 on every layer in transformers; llama.cpp's converter maps it to arch "
                "'llama' and writes NO sliding-window key (see logits.json 'nowindow' files)",
    ),
    "gemma3": dict(
        cls="Gemma3ForCausalLM", cfg="Gemma3TextConfig", lengths=[8, 20, 60],
        kw=dict(num_hidden_layers=6, head_dim=32, rms_norm_eps=1e-6, tie_word_embeddings=True,
                query_pre_attn_scalar=32, sliding_window=16,
                layer_types=["sliding_attention"] * 5 + ["full_attention"],
                rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
                attn_logit_softcapping=None, pad_token_id=0),
        special="Gemma3 text: embeddings x sqrt(hidden); RMSNorm (1+w) everywhere (converter stores 1+w); "
                "pre+post attention norms and pre+post FFN norms; per-head q/k norms; GELU-tanh gated FFN; "
                "5 sliding layers (window 16, rope base 10000) then 1 global layer (rope base 1e6); "
                "attention scale 1/sqrt(query_pre_attn_scalar=32=head_dim); NEOX rope",
    ),
}


def versions():
    v = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
         "numpy": np.__version__}
    for pkg in ("gguf", "safetensors", "tokenizers"):
        try:
            v[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    conv = {"converter": "convert_hf_to_gguf.py from the llama-cpp-python 0.3.36 sdist (vendor/llama.cpp)",
            "llama-cpp-python sdist": "0.3.36"}
    try:
        rev = subprocess.run(["git", "-C", LLAMA_CPP_DIR, "log", "-1", "--format=%H %cs"], capture_output=True,
                             text=True, check=True).stdout.strip()
        conv["llama.cpp commit"] = rev
    except Exception:  # noqa: BLE001 - the sdist may have no git metadata
        pass
    if CONVERTER_SITE:
        r = subprocess.run([sys.executable, "-c", "import transformers, tokenizers; print(transformers.__version__, tokenizers.__version__)"],
                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=CONVERTER_SITE))
        tv, tk = r.stdout.split()
        conv["transformers (used by the converter)"] = tv
        conv["tokenizers (used by the converter)"] = tk
    try:
        with open(os.path.join(LLAMA_CPP_DIR, "gguf-py", "pyproject.toml")) as f:
            for line in f:
                if line.startswith("version"):
                    conv["gguf-py (used by the converter)"] = line.split("=")[1].strip().strip('"')
                    break
    except OSError:
        pass
    v.update(conv)
    return v


def init_weights(model, family, gen):
    """Sensible, visible scales: matrices N(0, 0.1^2), norm weights ~1 (Gemma: w ~ N(0, 0.1^2) since it uses 1+w),
    biases N(0, 0.1^2). Everything is then rounded to float16 so the F16 GGUF is exact."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                val = 0.1 * noise if family == "gemma3" else 1.0 + 0.1 * noise
            elif name.endswith(".bias"):
                val = 0.1 * noise
            else:
                val = 0.1 * noise
            p.copy_(val.half().float())


def tokenize(tok, lengths):
    prompts = []
    for text, n in zip(TEXTS, lengths):
        enc = tok(text, add_special_tokens=True)["input_ids"]
        plain = tok(text, add_special_tokens=False)["input_ids"]
        assert enc[: len(plain)] == plain or enc == plain, "tokenizer adds specials in the middle?"
        assert len(enc) >= n, (len(enc), n)
        prompts.append(enc[:n])
    adds_bos = tok("a", add_special_tokens=True)["input_ids"] != tok("a", add_special_tokens=False)["input_ids"]
    return prompts, adds_bos


def hf_logits(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].to(torch.float32).numpy().astype(np.float32)


def lse(x):
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0]


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---------------------------------------------------------------------------------------------------
# Reading the GGUF back and running it with numpy, following llama.cpp's semantics for each arch.

def read_gguf(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("tokenizer.ggml.") and k in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                                      "tokenizer.ggml.token_type", "tokenizer.ggml.scores"):
            meta[k] = f"<array of {len(f.data)}>"
            continue
        if k.startswith("GGUF."):
            continue
        try:
            val = f.contents()
        except Exception:  # noqa: BLE001
            val = "<unreadable>"
        if isinstance(val, float):
            val = float(np.float32(val))
        meta[k] = val
    tensors = {}
    info = []
    for t in r.tensors:
        arr = np.array(t.data)
        info.append({"name": t.name, "type": t.tensor_type.name, "ggml_ne": [int(x) for x in t.shape],
                     "numpy_shape": list(arr.shape)})
        tensors[t.name] = arr.astype(np.float32)
    return meta, tensors, info


def rms(x, w, eps):
    return x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps).astype(np.float32) * w


def rope(x, pos, base, neox):
    # x [T, H, D]
    d = x.shape[-1]
    inv = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = pos[:, None].astype(np.float64) * inv[None, :]            # [T, D/2]
    c = np.cos(ang)[:, None, :]
    s = np.sin(ang)[:, None, :]
    x = x.astype(np.float64)
    if neox:
        a, b = x[..., : d // 2], x[..., d // 2:]
        out = np.concatenate([a * c - b * s, a * s + b * c], axis=-1)
    else:
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * c - b * s
        out[..., 1::2] = a * s + b * c
    return out.astype(np.float32)


def gguf_forward(meta, W, ids, window_override=None, neox_override=None, swa_rope=True):
    """window_override: None = as the GGUF says, 0 = no window, n = window n. neox_override flips the rope
    layout; swa_rope=False uses the global rope base on sliding layers too (the last two only for the
    sensitivity figures)."""
    arch = meta["general.architecture"]
    g = lambda k, d=None: meta.get(f"{arch}.{k}", d)  # noqa: E731
    n_layer = g("block_count")
    n_embd = g("embedding_length")
    n_head = g("attention.head_count")
    n_kv = g("attention.head_count_kv")
    hd = g("attention.key_length") or n_embd // n_head
    eps = g("attention.layer_norm_rms_epsilon")
    base = g("rope.freq_base", 10000.0)
    base_swa = g("rope.freq_base_swa", base)
    swa = g("attention.sliding_window") if window_override is None else window_override
    neox = (arch != "llama") if neox_override is None else neox_override
    T = len(ids)
    pos = np.arange(T)
    x = W["token_embd.weight"][ids]
    if arch == "gemma3":
        x = x * np.float32(math.sqrt(n_embd))
    scale = 1.0 / math.sqrt(hd)
    for il in range(n_layer):
        p = f"blk.{il}."
        is_swa = bool(swa) and (arch != "gemma3" or il % 6 < 5)
        h = rms(x, W[p + "attn_norm.weight"], eps)
        q = h @ W[p + "attn_q.weight"].T
        k = h @ W[p + "attn_k.weight"].T
        v = h @ W[p + "attn_v.weight"].T
        if p + "attn_q.bias" in W:
            q, k, v = q + W[p + "attn_q.bias"], k + W[p + "attn_k.bias"], v + W[p + "attn_v.bias"]
        q = q.reshape(T, n_head, hd)
        k = k.reshape(T, n_kv, hd)
        v = v.reshape(T, n_kv, hd)
        if p + "attn_q_norm.weight" in W:
            q = rms(q, W[p + "attn_q_norm.weight"], eps)
            k = rms(k, W[p + "attn_k_norm.weight"], eps)
        b = base_swa if (arch == "gemma3" and swa_rope and il % 6 < 5) else base
        q, k = rope(q, pos, b, neox), rope(k, pos, b, neox)
        rep = n_head // n_kv
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q.astype(np.float64), k.astype(np.float64)) * scale
        i, j = np.meshgrid(pos, pos, indexing="ij")
        mask = j > i
        if is_swa:
            mask |= (i - j) >= swa
        s = np.where(mask[None], -np.inf, s)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v.astype(np.float64)).reshape(T, n_head * hd).astype(np.float32)
        o = o @ W[p + "attn_output.weight"].T
        if arch == "gemma3":
            o = rms(o, W[p + "post_attention_norm.weight"], eps)
        x = x + o
        h = rms(x, W[p + "ffn_norm.weight"], eps)
        gt = h @ W[p + "ffn_gate.weight"].T
        up = h @ W[p + "ffn_up.weight"].T
        if arch == "gemma3":
            act = 0.5 * gt * (1 + np.tanh(math.sqrt(2 / math.pi) * (gt + 0.044715 * gt ** 3)))
        else:
            act = gt / (1 + np.exp(-gt))
        f = (act * up) @ W[p + "ffn_down.weight"].T
        if arch == "gemma3":
            f = rms(f, W[p + "post_ffw_norm.weight"], eps)
        x = x + f
    x = rms(x, W["output_norm.weight"], eps)
    out = W.get("output.weight", W["token_embd.weight"])
    return (x.astype(np.float64) @ out.T.astype(np.float64)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------

def make_family(name, spec, tok, prompts_ids_by_len, vers, tmp_root):
    print(f"== {name}", flush=True)
    cfg_cls = getattr(transformers, spec["cfg"])
    model_cls = getattr(transformers, spec["cls"])
    kw = dict(COMMON)
    kw.update(spec["kw"])
    config = cfg_cls(**kw)
    config._attn_implementation = "eager"
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16))
    model = model_cls(config)
    init_weights(model, name, gen)
    model.eval()

    hf_dir = os.path.join(tmp_root, name + "-hf")
    model.save_pretrained(hf_dir, safe_serialization=True)
    shutil.copy(os.path.join(TOKENIZER_DIR, "tokenizer.json"), hf_dir)
    with open(os.path.join(TOKENIZER_DIR, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    # transformers 5 wrote "TokenizersBackend"; the converter's pinned transformers 4.57.6 spells the same
    # generic tokenizer.json-backed class "PreTrainedTokenizerFast".
    tcfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=1)

    # Reference logits from the model reloaded from the very folder the converter reads.
    model = model_cls.from_pretrained(hf_dir, attn_implementation="eager", dtype=torch.float32)
    model.eval()

    gguf_tmp = os.path.join(tmp_root, name + ".gguf")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if CONVERTER_SITE:
        env["PYTHONPATH"] = CONVERTER_SITE + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.join(LLAMA_CPP_DIR, "convert_hf_to_gguf.py"), hf_dir, "--outtype", "f16",
           "--outfile", gguf_tmp]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        print(res.stdout[-3000:], res.stderr[-6000:])
        raise SystemExit(f"converter failed for {name}")
    conv_log = [l for l in res.stderr.splitlines() if "hf-to-gguf:gguf:" in l or l.startswith("WARNING")]

    fam_dir = os.path.join(OUT, name)
    if os.path.isdir(fam_dir):
        shutil.rmtree(fam_dir)
    os.makedirs(fam_dir)
    shutil.copy(gguf_tmp, os.path.join(fam_dir, "model.gguf"))

    meta, W, tinfo = read_gguf(gguf_tmp)

    prompts = []
    for i, ids in enumerate(prompts_ids_by_len[name]):
        logits = hf_logits(model, ids)
        assert logits.shape == (len(ids), VOCAB)
        cols = np.ascontiguousarray(logits[:, ::STRIDE]).astype("<f4")
        last = np.ascontiguousarray(logits[-1]).astype("<f4")
        cols.tofile(os.path.join(fam_dir, f"prompt{i}_cols.f32"))
        last.tofile(os.path.join(fam_dir, f"prompt{i}_last.f32"))
        entry = {
            "ids": [int(t) for t in ids], "T": len(ids),
            "cols_file": f"prompt{i}_cols.f32", "cols_shape": list(cols.shape),
            "last_file": f"prompt{i}_last.f32", "last_shape": list(last.shape),
            "logsumexp": [float(v) for v in lse(logits.astype(np.float64))],
            "argmax": [int(v) for v in logits.argmax(-1)],
        }
        # Self-check: the GGUF alone, run with llama.cpp's semantics, against transformers.
        mine = gguf_forward(meta, W, ids)
        chk = {"gguf_numpy_vs_transformers_rel_l2_all_positions": rel_l2(mine, logits)}
        # Sensitivity: what a loader that got one detail wrong would be off by (all >> tolerance).
        win = 16 if name == "mistral" else None
        chk["wrong_rope_layout_rel_l2"] = rel_l2(
            gguf_forward(meta, W, ids, window_override=win, neox_override=(meta["general.architecture"] == "llama")), logits)
        if name == "gemma3":
            chk["gguf_numpy_ignoring_window_rel_l2"] = rel_l2(gguf_forward(meta, W, ids, window_override=0), logits)
            chk["gguf_numpy_global_rope_base_on_sliding_layers_rel_l2"] = rel_l2(
                gguf_forward(meta, W, ids, swa_rope=False), logits)
        if name == "mistral" or name == "gemma3":
            # How much the window matters here (a Swift run that ignores it must fail the tolerance).
            cfg_nw = type(config).from_dict(config.to_dict())
            if name == "mistral":
                cfg_nw.sliding_window = None
            else:
                cfg_nw.layer_types = ["full_attention"] * config.num_hidden_layers
            cfg_nw._attn_implementation = "eager"
            m_nw = model_cls(cfg_nw)
            m_nw.load_state_dict(model.state_dict())
            m_nw.eval()
            nw = hf_logits(m_nw, ids)
            chk["transformers_without_window_vs_with_rel_l2" if name == "mistral"
                else "transformers_all_layers_full_attention_vs_reference_rel_l2"] = rel_l2(nw, logits)
            if name == "mistral":
                chk["gguf_numpy_as_llamacpp_runs_it_(no_window)_vs_transformers_without_window_rel_l2"] = rel_l2(mine, nw)
                mine_w = gguf_forward(meta, W, ids, window_override=16)
                chk["gguf_numpy_with_window_16_vs_transformers_rel_l2"] = rel_l2(mine_w, logits)
                chk["gguf_numpy_vs_transformers_rel_l2_all_positions"] = rel_l2(mine_w, logits)
                chk["note"] = ("the GGUF has no sliding-window key; llama.cpp runs arch llama with full attention, "
                               "which equals transformers only while T <= 16. The window (16) must come from "
                               "elsewhere (this json's config.sliding_window) to match the reference")
                if len(ids) > 16:
                    nwc = np.ascontiguousarray(nw[:, ::STRIDE]).astype("<f4")
                    nwc.tofile(os.path.join(fam_dir, f"prompt{i}_nowindow_cols.f32"))
                    np.ascontiguousarray(nw[-1]).astype("<f4").tofile(os.path.join(fam_dir, f"prompt{i}_nowindow_last.f32"))
                    entry["nowindow"] = {
                        "what": "transformers logits of the same weights with sliding_window=None (what llama.cpp computes from this GGUF)",
                        "cols_file": f"prompt{i}_nowindow_cols.f32", "last_file": f"prompt{i}_nowindow_last.f32",
                        "logsumexp": [float(v) for v in lse(nw.astype(np.float64))],
                        "argmax": [int(v) for v in nw.argmax(-1)],
                    }
        entry["self_check"] = chk
        print(f"  prompt{i} T={len(ids)} {json.dumps(chk)}", flush=True)
        prompts.append(entry)

    c = config
    rope = c.rope_parameters
    summary = {
        "hf_class": spec["cls"], "hf_model_type": c.model_type,
        "layers": c.num_hidden_layers, "hidden": c.hidden_size, "heads": c.num_attention_heads,
        "kv_heads": c.num_key_value_heads, "head_dim": getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
        "ffn": c.intermediate_size, "vocab": c.vocab_size, "max_position_embeddings": c.max_position_embeddings,
        "rms_norm_eps": c.rms_norm_eps, "tie_word_embeddings": bool(c.tie_word_embeddings),
        "rope_parameters": rope,
        "sliding_window": getattr(c, "sliding_window", None) if (name in ("mistral", "gemma3")) else None,
        "layer_types": list(getattr(c, "layer_types", []) or []),
        "special": spec["special"],
    }
    if name == "gemma3":
        summary["query_pre_attn_scalar"] = c.query_pre_attn_scalar
        summary["hidden_activation"] = c.hidden_activation
        summary["embedding_scale"] = math.sqrt(c.hidden_size)
    doc = {
        "family": name,
        "gguf": "model.gguf",
        "gguf_architecture": meta["general.architecture"],
        "gguf_size_bytes": os.path.getsize(gguf_tmp),
        "vocab_size": VOCAB,
        "column_stride": STRIDE,
        "columns": f"ids 0, {STRIDE}, ..., {VOCAB - STRIDE} ({VOCAB // STRIDE} columns)",
        "binary_format": "little-endian float32, row-major; cols: [T, vocab/stride], last: [vocab]",
        "tolerance_relative_l2": TOLERANCE,
        "tokenizer": "SmolLM2 tokenizer.json (Apache-2.0); ids stored here are authoritative",
        "bos_added": prompts_ids_by_len["_adds_bos"],
        "seed": SEED,
        "config": summary,
        "gguf_metadata": {k: v for k, v in meta.items() if not k.startswith("tokenizer.ggml.")},
        "gguf_tokenizer_keys": {k: v for k, v in meta.items() if k.startswith("tokenizer.ggml.")},
        "gguf_tensors_layer0_and_global": [t for t in tinfo if t["name"].startswith("blk.0.") or not t["name"].startswith("blk.")],
        "gguf_tensor_count": len(tinfo),
        "converter_log": conv_log,
        "versions": vers,
        "prompts": prompts,
    }
    with open(os.path.join(fam_dir, "logits.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
        f.write("\n")
    worst = max(p["self_check"]["gguf_numpy_vs_transformers_rel_l2_all_positions"] for p in prompts)
    print(f"  arch={meta['general.architecture']} size={doc['gguf_size_bytes']} worst self-check rel L2={worst:.2e}")
    return worst


def main():
    if not LLAMA_CPP_DIR or not os.path.isfile(os.path.join(LLAMA_CPP_DIR, "convert_hf_to_gguf.py")):
        raise SystemExit("set LLAMA_CPP_DIR to the llama-cpp-python sdist's vendor/llama.cpp")
    if TOKENIZER_DIR is None:
        raise SystemExit("SmolLM2 tokenizer.json not found; set SMOLLM2_TOKENIZER_DIR")
    names = sys.argv[1:] or list(FAMILIES)
    tok = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    assert len(tok) == VOCAB, len(tok)
    ids_by = {}
    for n in FAMILIES:
        ids_by[n], adds_bos = tokenize(tok, FAMILIES[n]["lengths"])
    ids_by["_adds_bos"] = bool(adds_bos)
    vers = versions()
    print(json.dumps(vers, indent=1))
    os.makedirs(OUT, exist_ok=True)
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            worst = make_family(n, FAMILIES[n], tok, ids_by, vers, tmp)
            if worst > 1e-5:
                bad.append((n, worst))
    if bad:
        raise SystemExit(f"self-check failed: {bad}")
    print("all self-checks passed")


if __name__ == "__main__":
    main()
