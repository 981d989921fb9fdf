#!/usr/bin/env python3
"""Sums up `make bench BENCH_ROUNDS=N`: per model and thread count, the median over rounds of each figure
for llm-drop and llama.cpp, the ratio of the medians, and each round's ratio (rounds ran llm-drop then
llama.cpp back to back, so a ratio compares one machine state; llama.cpp's single-thread figures move
by ±20 % between runs on a VM, which one round cannot show).

    bench-rounds.py OUT_DIR

Reads OUT_DIR/bench-<model>-<threads>-r<round>.json (llm-drop bench --report) and
OUT_DIR/peer-<model>-<threads>-r<round>.json (bench-peer.py --report); prints a table and writes
OUT_DIR/bench-rounds.json.
"""
import glob
import json
import os
import re
import statistics
import sys


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "out"
    groups = {}
    for path in sorted(glob.glob(os.path.join(out, "bench-*-r*.json"))):
        m = re.match(r"bench-(.+)-(\d+)-r(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        name, threads, rnd = m.group(1), int(m.group(2)), int(m.group(3))
        peer_path = os.path.join(out, f"peer-{name}-{threads}-r{rnd}.json")
        ours = json.load(open(path))
        figures = {}
        for r in ours["runs"]:
            figures[f"prefill_{r['prompt_tokens']}"] = r["prefill_tokens_per_second"]
            if r.get("decode_tokens_per_second"):
                figures["decode"] = r["decode_tokens_per_second"]
        peer = json.load(open(peer_path))["llama_cpp"] if os.path.exists(peer_path) else {}
        groups.setdefault((name, threads), []).append((rnd, figures, peer))
    if not groups:
        print(f"bench-rounds: no bench-*-r*.json in {out}", file=sys.stderr)
        return 1
    summary = []
    print(f"{'model':<30}{'threads':>8}  {'figure':<14}{'llm-drop':>10}{'llama.cpp':>11}{'ratio':>7}  rounds' ratios")
    for (name, threads), rounds in sorted(groups.items()):
        for key in rounds[0][1]:
            ours = [f[key] for _, f, _ in rounds if key in f]
            theirs = [p[key] for _, _, p in rounds if key in p]
            a = statistics.median(ours)
            b = statistics.median(theirs) if theirs else None
            per_round = [f[key] / p[key] for _, f, p in rounds if key in f and key in p]
            summary.append({"model": name, "threads": threads, "figure": key, "rounds": len(ours),
                            "llm_drop": a, "llama_cpp": b, "ratio": a / b if b else None, "round_ratios": per_round})
            print(f"{name:<30}{threads:>8}  {key:<14}{a:>10.1f}{(f'{b:.1f}' if b else '-'):>11}"
                  f"{(f'{a / b:.2f}' if b else '-'):>7}  {', '.join(f'{r:.2f}' for r in per_round)}")
    path = os.path.join(out, "bench-rounds.json")
    with open(path + ".tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
