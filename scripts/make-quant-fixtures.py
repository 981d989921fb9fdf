#!/usr/bin/env python3
"""Makes the dequantisation fixtures in Tests/LLMTensorTests/Fixtures/ from an independent decoder.

Independent reference: the PyPI `gguf` package (`pip install gguf`), `gguf.quants.dequantize`.
For every GGML type LLMDrop supports, the script writes
  <TYPE>.raw  the raw block bytes (1024 weights: 1024 elements for F32/F16/BF16,
              32 blocks of the 32-weight types, 4 super-blocks of the K-quants)
  <TYPE>.f32  what gguf.quants.dequantize returns for those bytes, little-endian float32
and manifest.json, which records for each type how its blocks were made:
  * real blocks copied from the model files under $LLM_DROP_HOME/models (default
    ~/.cache/llm-drop/models): SmolLM2-135M-Instruct.Q4_1.gguf (Q4_1, Q8_0, F32) and
    gemma-3-270m-q4_k_m.gguf (Q5_0, Q4_K, Q6_K);
  * F16, BF16, Q4_0, Q5_1 (no model stores them): gguf.quants.quantize applied to real
    weights (SmolLM2's token embedding, dequantised from Q8_0). The F16 fixture also ends
    with 32 hand-picked halves (±0, subnormals, the largest finite, ±inf) so the decoder's
    edge cases are checked too;
  * Q2_K, Q3_K, Q5_K (no model stores them and the package cannot quantise them):
    deterministic pseudo-random bytes (numpy RandomState(seed)), with the f16 d / dmin
    fields overwritten by sane positive scales (1e-3 .. 2e-2).
Run from the repository root:  python3 scripts/make-quant-fixtures.py
"""
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

N = 1024  # weights per fixture
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LLMTensorTests", "Fixtures")
HOME = os.environ.get("LLM_DROP_HOME") or os.path.expanduser("~/.cache/llm-drop")
MODELS = os.path.join(HOME, "models")


def block_bytes(qtype):
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    return N // bs * ts


def tensor(reader, name):
    for t in reader.tensors:
        if t.name == name:
            return t
    sys.exit(f"tensor {name} not found")


def real_blocks(reader, name, qtype, skip_rows=0):
    """N weights' worth of raw bytes from `name`, starting `skip_rows` rows in."""
    t = tensor(reader, name)
    assert t.tensor_type == qtype, (name, t.tensor_type)
    flat = np.ascontiguousarray(t.data).view(np.uint8).reshape(-1)
    row_bytes = flat.size // t.data.shape[0] if t.data.ndim > 1 else 0
    start = skip_rows * row_bytes
    return flat[start:start + block_bytes(qtype)].copy()


def random_kquant(qtype, seed, f16_fields):
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.RandomState(seed)
    blocks = rng.randint(0, 256, size=(N // bs, ts)).astype(np.uint8)
    for off in f16_fields:
        scale = rng.uniform(1e-3, 2e-2, size=N // bs).astype(np.float16)
        blocks[:, off:off + 2] = scale.view(np.uint8).reshape(-1, 2)
    return blocks.reshape(-1)


F16_EDGES = np.array(
    [0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x03FF, 0x83FF, 0x0200, 0x0400, 0x8400,
     0x07FF, 0x3C00, 0xBC00, 0x3555, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x0010, 0x0100,
     0x3800, 0x3BFF, 0x4000, 0x5640, 0xC8F0, 0x1234, 0x8765, 0x2E66, 0xAE66, 0x0A00,
     0x0001, 0x7800], dtype=np.uint16)


def main():
    smol = gguf.GGUFReader(os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    gemma = gguf.GGUFReader(os.path.join(MODELS, "gemma-3-270m-q4_k_m.gguf"))

    fixtures = {}  # type name -> (raw uint8 array, source description)

    fixtures["Q4_1"] = (real_blocks(smol, "blk.3.ffn_gate.weight", Q.Q4_1, 100),
                        "SmolLM2 blk.3.ffn_gate.weight, rows 100.. (real blocks)")
    fixtures["Q8_0"] = (real_blocks(smol, "token_embd.weight", Q.Q8_0, 1000),
                        "SmolLM2 token_embd.weight, rows 1000.. (real blocks)")
    norms = np.concatenate([np.asarray(tensor(smol, "blk.0.attn_norm.weight").data, dtype=np.float32),
                            np.asarray(tensor(smol, "blk.0.ffn_norm.weight").data, dtype=np.float32)])[:N]
    fixtures["F32"] = (norms.view(np.uint8).copy(),
                       "SmolLM2 blk.0.attn_norm.weight ++ blk.0.ffn_norm.weight (real values)")
    fixtures["Q5_0"] = (real_blocks(gemma, "blk.2.attn_q.weight", Q.Q5_0, 7),
                        "gemma-3 blk.2.attn_q.weight, rows 7.. (real blocks)")
    fixtures["Q4_K"] = (real_blocks(gemma, "blk.1.attn_output.weight", Q.Q4_K, 11),
                        "gemma-3 blk.1.attn_output.weight, rows 11.. (real blocks)")
    fixtures["Q6_K"] = (real_blocks(gemma, "blk.0.ffn_down.weight", Q.Q6_K, 5),
                        "gemma-3 blk.0.ffn_down.weight, rows 5.. (real blocks)")

    # Real f32 weights for the types no model stores.
    emb = tensor(smol, "token_embd.weight")
    emb_rows = dequantize(np.ascontiguousarray(emb.data[2000:2002]), Q.Q8_0).reshape(-1)[:N].astype(np.float32)
    src = "gguf.quants.quantize of SmolLM2 token_embd.weight rows 2000.. (dequantised Q8_0)"
    f16 = quantize(emb_rows, Q.F16).view(np.uint16).copy()
    f16[-len(F16_EDGES):] = F16_EDGES
    fixtures["F16"] = (f16.view(np.uint8), src + "; last 32 values are hand-picked edge halves")
    fixtures["BF16"] = (quantize(emb_rows, Q.BF16).view(np.uint8).reshape(-1), src)
    fixtures["Q4_0"] = (quantize(emb_rows, Q.Q4_0).view(np.uint8).reshape(-1), src)
    fixtures["Q5_1"] = (quantize(emb_rows, Q.Q5_1).view(np.uint8).reshape(-1), src)

    rnd = "pseudo-random bytes (numpy RandomState(%d)), f16 scale fields set to 1e-3..2e-2"
    fixtures["Q2_K"] = (random_kquant(Q.Q2_K, 2, [80, 82]), rnd % 2)      # d, dmin at 80, 82
    fixtures["Q3_K"] = (random_kquant(Q.Q3_K, 3, [108]), rnd % 3)         # d at 108
    fixtures["Q5_K"] = (random_kquant(Q.Q5_K, 5, [0, 2]), rnd % 5)        # d, dmin at 0, 2

    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name in ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                 "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]:
        raw, how = fixtures[name]
        qtype = Q[name]
        raw = np.ascontiguousarray(raw, dtype=np.uint8)
        assert raw.size == block_bytes(qtype), (name, raw.size, block_bytes(qtype))
        expected = np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1)
        assert expected.size == N, (name, expected.size)
        raw.tofile(os.path.join(OUT, name + ".raw"))
        expected.astype("<f4").tofile(os.path.join(OUT, name + ".f32"))
        manifest.append({"type": name, "ggmlType": int(qtype), "count": N, "source": how})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "scripts/make-quant-fixtures.py", "gguf": importlib.metadata.version("gguf"),
                   "fixtures": manifest}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(manifest)} fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
