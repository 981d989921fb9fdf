#!/usr/bin/env python3
"""Writes the safetensors fuzzing seeds in Fuzz/corpus-seeds/safetensors/ (plain struct + json, no torch).

From each HF fixture's weights (Tests/Fixtures/hf/*/model*.safetensors): the same header (names, dtypes,
metadata) with every tensor shrunk to at most 4 elements, so the seeds stay small. Plus hand-made files:
every dtype, a zero-element tensor, a header with only __metadata__, and one with space padding.

  python3 Fuzz/make_safetensors_seeds.py
"""
import glob
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "corpus-seeds", "safetensors")
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
         "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def write(name, tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape)]; data bytes are a counting pattern."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for n, dtype, shape in tensors:
        count = 1
        for d in shape:
            count *= d
        size = count * SIZES[dtype]
        header[n] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + size]}
        data += bytes((len(data) + i) % 251 for i in range(size))
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "Fixtures", "hf", "*", "model*.safetensors")))[:4]:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        meta = header.pop("__metadata__", None)
        tensors = [(k, v["dtype"], [min(d, 2) for d in v["shape"]]) for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])]
        family = os.path.basename(os.path.dirname(path))
        write(f"{family}-{os.path.basename(path)}", tensors, meta)
    write("every-dtype.safetensors", [(f"t.{d}", d, [3]) for d in SIZES], {"format": "pt"})
    write("zero-element.safetensors", [("empty", "F16", [0, 4]), ("one", "BF16", [1])])
    write("metadata-only.safetensors", [], {"format": "pt", "note": "no tensors"})
    write("unpadded.safetensors", [("w", "F32", [2, 2])], pad=False)


if __name__ == "__main__":
    main()
