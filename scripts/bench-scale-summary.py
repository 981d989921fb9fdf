#!/usr/bin/env python3
"""Summary of scripts/bench-scale.sh: one JSON (OUT/../bench-scale.json) and tables on stdout.

Usage: bench-scale-summary.py OUT SIZE...

Figures, all from the run's own files:
  synth    wall time and peak RSS (/usr/bin/time -v), file bytes
  score    wall time and peak RSS of the whole command (load, tokenising, scoring); achieved GFLOP/s =
           FLOPs / wall time, FLOPs = 2 × (layer weights: Q, K, V, O, gate, up, down) × tokens + attention
           (QKᵀ and AV: 2 × 2 × query width × keys per query, keys = the 128-token tile's causal prefix);
           the head is not run when scoring (no logits).
  bench    prefill and decode tokens/s of the original and the dropped model (interleaved runs), their
           ratios, KV-cache bytes; the analytic ratios next to them:
             prefill  FLOPs per prompt token, original / dropped (layer weights + attention over the
                      causal prefix, mean P/2 keys)
             decode   bytes read per generated token, original / dropped (the Q4_0 weights of the layers
                      computed + the head + the f32 KV cache read at the mean context P + G/2)
"""
import json
import os
import re
import sys

SHAPES = {  # hidden, layers, heads, kv heads, head dim, ffn, vocab (SyntheticShapes.swift)
    "llama-2-7b": (4096, 32, 32, 32, 128, 11008, 32000),
    "llama-2-13b": (5120, 40, 40, 40, 128, 13824, 32000),
    "llama-2-70b": (8192, 80, 64, 8, 128, 28672, 32000),
}
Q4_0 = 18 / 32  # bytes per weight


def time_v(path):
    """Wall seconds and peak RSS bytes from /usr/bin/time -v output."""
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) * 1024
    return seconds, rss


def layer_weights(size):
    D, L, H, G, Dh, F, V = SHAPES[size]
    attn = D * H * Dh * 2 + 2 * D * G * Dh
    mlp = 3 * D * F
    return attn, mlp


def prefill_flops_per_token(size, attention_layers, prompt):
    D, L, H, G, Dh, F, V = SHAPES[size]
    attn, mlp = layer_weights(size)
    return 2 * (L * mlp + attention_layers * attn) + attention_layers * 4 * H * Dh * prompt / 2


def decode_bytes_per_token(size, attention_layers, context):
    D, L, H, G, Dh, F, V = SHAPES[size]
    attn, mlp = layer_weights(size)
    weights = (L * mlp + attention_layers * attn + V * D) * Q4_0
    kv = attention_layers * 2 * G * Dh * 4 * context
    return weights + kv


def main():
    out, sizes = sys.argv[1], sys.argv[2:]
    summary = {"sizes": {}}
    for size in sizes:
        if size not in SHAPES:
            continue
        D, L, H, G, Dh, F, V = SHAPES[size]
        s = {}
        p = os.path.join(out, f"{size}-synth.log")
        if os.path.exists(p):
            sec, rss = time_v(p)
            s["synth"] = {"seconds": sec, "peak_rss_bytes": rss,
                          "bytes": json.load(open(os.path.join(out, f"{size}-synth.json")))["bytes"]}
        p = os.path.join(out, f"{size}-score.log")
        if os.path.exists(p) and os.path.getsize(os.path.join(out, f"{size}-score.json")) > 0:
            sec, rss = time_v(p)
            scores = json.load(open(os.path.join(out, f"{size}-score.json")))
            tokens, samples = scores["tokens"], scores["samples"]
            seq = tokens // samples
            attn, mlp = layer_weights(size)
            flops = 2 * L * (attn + mlp) * tokens + L * 4 * H * Dh * tokens * seq
            log = open(p).read()
            load = re.search(r"loaded \S+ in ([\d.]+) s", log)
            plan = re.search(r"memory budget (.*)", log)
            s["score"] = {"seconds": sec, "peak_rss_bytes": rss, "tokens": tokens, "samples": samples,
                          "gflop": flops / 1e9, "gflop_per_second": flops / 1e9 / sec,
                          "load_seconds": float(load.group(1)) if load else None,
                          "budget": plan.group(1) if plan else None}
        for part in ("half", "quarter"):
            p = os.path.join(out, f"{size}-bench-{part}.json")
            if not os.path.exists(p) or os.path.getsize(p) == 0:
                continue
            b = json.load(open(p))
            plan = json.load(open(os.path.join(out, f"{size}-plan-{part}.json")))
            kept = L - len(plan["dropped_attention"])
            runs = b["runs"]
            drop = next(r for r in runs if r.get("plan") is not None)
            orig = next((r for r in runs if r.get("plan") is None), None)
            if orig is None:  # measured alone: the original of the half run
                half = os.path.join(out, f"{size}-bench-half.json")
                if not os.path.exists(half) or os.path.getsize(half) == 0:
                    continue
                orig = next(r for r in json.load(open(half))["runs"] if r.get("plan") is None)
            P, Gn = orig["prompt_tokens"], orig["gen_tokens"]
            sec, rss = time_v(os.path.join(out, f"{size}-bench-{part}.log"))
            s[f"bench_{part}"] = {
                "dropped_attention": len(plan["dropped_attention"]), "prompt_tokens": P, "gen_tokens": Gn,
                "interleaved": any(r.get("plan") is None for r in runs),
                "limits": b.get("limits"),
                "original": orig, "dropped": drop,
                "prefill_speedup": drop["prefill_tokens_per_second"] / orig["prefill_tokens_per_second"],
                "decode_speedup": drop["decode_tokens_per_second"] / orig["decode_tokens_per_second"] if drop.get("decode_tokens_per_second") else None,
                "kv_cache_ratio": drop["kv_cache_bytes"] / orig["kv_cache_bytes"],
                "analytic_prefill_speedup": prefill_flops_per_token(size, L, P) / prefill_flops_per_token(size, kept, P),
                "analytic_decode_speedup": decode_bytes_per_token(size, L, P + Gn / 2) / decode_bytes_per_token(size, kept, P + Gn / 2),
                "wall_seconds": sec, "peak_rss_bytes": rss,
            }
        summary["sizes"][size] = s
    json.dump(summary, open(os.path.join(os.path.dirname(out.rstrip("/")) or ".", "bench-scale.json"), "w"), indent=2, sort_keys=True)

    gib = 1 << 30
    print("| model | file | synth | score tokens | score wall | GFLOP | GFLOP/s | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for size, s in summary["sizes"].items():
        sy, sc = s.get("synth"), s.get("score")
        print(f"| {size} | {sy['bytes'] / gib:.2f} GiB | {sy['seconds']:.0f} s, {sy['peak_rss_bytes'] / 2**20:.0f} MiB |" if sy else f"| {size} | - | - |", end="")
        print(f" {sc['samples']} × {sc['tokens'] // sc['samples']} | {sc['seconds']:.0f} s | {sc['gflop']:.0f} | {sc['gflop_per_second']:.1f} | {sc['peak_rss_bytes'] / gib:.2f} GiB |" if sc else " - | - | - | - | - |")
    print()
    print("| model | attention dropped | prefill tok/s orig → dropped | speed-up (analytic) | decode tok/s orig → dropped | speed-up (analytic) | KV cache orig → dropped |")
    print("|---|---|---|---|---|---|---|")
    for size, s in summary["sizes"].items():
        for part in ("half", "quarter"):
            b = s.get(f"bench_{part}")
            if not b:
                continue
            o, d = b["original"], b["dropped"]
            dec = f"{o['decode_tokens_per_second']:.2f} → {d['decode_tokens_per_second']:.2f} | {b['decode_speedup']:.3f} ({b['analytic_decode_speedup']:.3f})" if b["decode_speedup"] else "- | -"
            print(f"| {size} | {b['dropped_attention']} of {SHAPES[size][1]} | {o['prefill_tokens_per_second']:.2f} → {d['prefill_tokens_per_second']:.2f} | "
                  f"{b['prefill_speedup']:.3f} ({b['analytic_prefill_speedup']:.3f}) | {dec} | "
                  f"{o['kv_cache_bytes'] / 2**20:.0f} → {d['kv_cache_bytes'] / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
