#!/usr/bin/env python3
"""Writes the GGUF fuzzing seeds in Fuzz/corpus-seeds/gguf/ (and the tokenizer seeds' token lists).

From each real model: its metadata with the tokenizer arrays cut to the first N tokens (merges kept
when all their parts are among them, token ids beyond them moved inside), and the tensor table of its
global tensors and first two blocks with each tensor shrunk to one block of its type. Plus hand-made
files: the smallest valid one, every value type (nested arrays included), version 2.

  python3 Fuzz/make_seeds.py [MODEL_DIR]   (default: $LLM_DROP_HOME/models or ~/.cache/llm-drop/models)
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus-seeds", "gguf")

# GGUF value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
          BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}
# ggml types: (block elements, bytes per block).
GGML = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
        10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}


class Reader:
    def __init__(self, f):
        self.f = f

    def unpack(self, fmt):
        n = struct.calcsize(fmt)
        return struct.unpack(fmt, self.f.read(n))[0]

    def string(self):
        return self.f.read(self.unpack("<Q")).decode("utf-8")

    def value(self, t):
        if t in SCALAR:
            return self.unpack(SCALAR[t])
        if t == STR:
            return self.string()
        et = self.unpack("<I")
        n = self.unpack("<Q")
        return (et, [self.value(et) for _ in range(n)])


def read_gguf(path):
    with open(path, "rb") as f:
        r = Reader(f)
        assert f.read(4) == b"GGUF"
        version = r.unpack("<I")
        nt, nkv = r.unpack("<Q"), r.unpack("<Q")
        kvs = []
        for _ in range(nkv):
            k = r.string()
            t = r.unpack("<I")
            kvs.append((k, t, r.value(t)))
        tensors = []
        for _ in range(nt):
            name = r.string()
            nd = r.unpack("<I")
            dims = [r.unpack("<Q") for _ in range(nd)]
            tensors.append((name, dims, r.unpack("<I"), r.unpack("<Q")))
    return version, kvs, tensors


class Writer:
    def __init__(self):
        self.b = bytearray()

    def pack(self, fmt, v):
        self.b += struct.pack(fmt, v)

    def string(self, s):
        e = s.encode("utf-8") if isinstance(s, str) else s
        self.pack("<Q", len(e))
        self.b += e

    def value(self, t, v):
        if t in SCALAR:
            self.pack(SCALAR[t], v)
        elif t == STR:
            self.string(v)
        else:
            et, items = v
            self.pack("<I", et)
            self.pack("<Q", len(items))
            for x in items:
                self.value(et, x)


def write_gguf(path, kvs, tensors, version=3, alignment=32):
    """tensors: (name, dims, type); each gets one zeroed-but-patterned block of data."""
    w = Writer()
    w.b += b"GGUF"
    w.pack("<I", version)
    w.pack("<Q", len(tensors))
    w.pack("<Q", len(kvs))
    for k, t, v in kvs:
        w.string(k)
        w.pack("<I", t)
        w.value(t, v)
    offset = 0
    sizes = []
    for name, dims, t in tensors:
        elems, block = GGML[t]
        n = 1
        for d in dims:
            n *= d
        size = n // elems * block
        w.string(name)
        w.pack("<I", len(dims))
        for d in dims:
            w.pack("<Q", d)
        w.pack("<I", t)
        w.pack("<Q", offset)
        sizes.append(size)
        offset += (size + alignment - 1) // alignment * alignment
    w.b += bytes((-len(w.b)) % alignment)
    for size in sizes:
        w.b += bytes((i * 37 + 11) & 0xFF for i in range(size))
        w.b += bytes((-size) % alignment)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(w.b)
    print(f"{path}: {len(w.b)} bytes", file=sys.stderr)


def shrink(model_path, out, n_tokens, max_merges, keep_blocks=2):
    version, kvs, tensors = read_gguf(model_path)
    meta = {k: (t, v) for k, t, v in kvs}
    tokens = meta["tokenizer.ggml.tokens"][1][1][:n_tokens]
    vocab = set(tokens)
    new = []
    for k, t, v in kvs:
        if t == ARR and k.startswith("tokenizer.ggml.") and k != "tokenizer.ggml.merges" and len(v[1]) > n_tokens:
            v = (v[0], v[1][:n_tokens])
        elif k == "tokenizer.ggml.merges":
            kept = []
            for m in v[1]:
                left, _, right = m.partition(" ")
                if left in vocab and right in vocab and left + right in vocab:
                    kept.append(m)
                if len(kept) >= max_merges:
                    break
            v = (v[0], kept)
        elif k.endswith("_token_id") and t != ARR and v >= n_tokens:
            v = n_tokens - 1
        new.append((k, t, v))
    small = []
    for name, dims, t, _ in tensors:
        m = re.match(r"blk\.(\d+)\.", name)
        if m and int(m.group(1)) >= keep_blocks:
            continue
        elems = GGML[t][0]
        small.append((name, [elems] + [1] * (len(dims) - 1), t))
    write_gguf(out, new, small, version=version)


def handmade():
    # The smallest valid file: no metadata, no tensors.
    write_gguf(os.path.join(OUT, "empty.gguf"), [], [])
    # Every value type, nested arrays, a custom alignment, tensors of several types; version 2.
    every = [
        ("general.architecture", STR, "llama"),
        ("general.alignment", U32, 64),
        ("t.u8", U8, 200), ("t.i8", I8, -3), ("t.u16", U16, 65000), ("t.i16", I16, -300),
        ("t.u32", U32, 1 << 31), ("t.i32", I32, -70000), ("t.f32", F32, 1.5), ("t.bool", BOOL, 1),
        ("t.str", STR, "h\u00e9llo \u2581 <0x41>"), ("t.u64", U64, 1 << 40), ("t.i64", I64, -(1 << 40)),
        ("t.f64", F64, -2.25),
        ("t.arr.i32", ARR, (I32, [1, -2, 3])),
        ("t.arr.str", ARR, (STR, ["a", "", "b c"])),
        ("t.arr.nested", ARR, (ARR, [(U8, [1, 2]), (STR, ["x"]), (ARR, [(BOOL, [0, 1])])])),
        ("t.arr.empty", ARR, (F64, [])),
    ]
    tensors = [("f32", [4, 2], 0), ("f16", [8], 1), ("q8_0", [32, 2], 8), ("q4_k", [256], 12),
               ("bf16", [2, 2, 2, 2], 30)]
    write_gguf(os.path.join(OUT, "every-type-v2.gguf"), every, tensors, version=2, alignment=64)
    # A minimal BPE tokenizer: bytes in GPT-2's alphabet, a few merges, a control token.
    alphabet = []
    n = 256
    for b in range(256):
        if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF:
            alphabet.append(chr(b))
        else:
            alphabet.append(chr(n))
            n += 1
    toks = alphabet + ["he", "ll", "hell", "hello", "\u0120w", "<|end|>"]
    types = [1] * 261 + [3]
    bpe = [("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, "llama-bpe"),
           ("tokenizer.ggml.tokens", ARR, (STR, toks)), ("tokenizer.ggml.token_type", ARR, (I32, types)),
           ("tokenizer.ggml.merges", ARR, (STR, ["h e", "l l", "he ll", "hell o", "\u0120 w"])),
           ("tokenizer.ggml.eos_token_id", U32, 261), ("tokenizer.ggml.add_eos_token", BOOL, 1)]
    write_gguf(os.path.join(OUT, "tiny-bpe.gguf"), bpe, [])
    # A minimal SentencePiece tokenizer with byte fallback.
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"]
    types = [2, 3, 3] + [6] * 256 + [1] * 6
    scores = [0.0] * 259 + [-1.0, -2.0, -2.0, -0.5, -0.7, -0.1]
    spm = [("tokenizer.ggml.model", STR, "llama"), ("tokenizer.ggml.tokens", ARR, (STR, toks)),
           ("tokenizer.ggml.token_type", ARR, (I32, types)), ("tokenizer.ggml.scores", ARR, (F32, scores)),
           ("tokenizer.ggml.add_space_prefix", BOOL, 1)]
    write_gguf(os.path.join(OUT, "tiny-spm.gguf"), spm, [])


def main():
    home = os.environ.get("LLM_DROP_HOME", os.path.expanduser("~/.cache/llm-drop"))
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.join(home, "models")
    handmade()
    for name, out, n, merges in [("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-small.gguf", 600, 400),
                                 ("gemma-3-270m-q4_k_m.gguf", "gemma3-small.gguf", 600, 0)]:
        path = os.path.join(models, name)
        if os.path.exists(path):
            shrink(path, os.path.join(OUT, out), n, merges)
        else:
            print(f"{path} is absent (scripts/fetch-models.sh smollm2 gemma3); its seed is not written", file=sys.stderr)


if __name__ == "__main__":
    main()
