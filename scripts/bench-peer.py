#!/usr/bin/env python3
"""Measures llama.cpp (through its Python binding, llama-cpp-python) on the same model, prompt
lengths and thread count as `llm-drop bench`, and prints llm-drop's figures as ratios against it.

    bench-peer.py --model MODEL --llm-drop-json BENCH.json [--threads 2] [--repetitions 3] [--name NAME]
                  [--report PEER.json]

`make bench` runs it once per model (SmolLM2-135M Q4_1, Gemma 3 270M Q4_K_M) and round, right after
`llm-drop bench` on that model, so both programs are measured in the same run on the same machine state;
scripts/bench-rounds.py sums several rounds up.

The prompt is the same deterministic token sequence llm-drop uses (taken from its JSON is not
possible, so both use plain repeated ids of the same English text tokenized by llama.cpp).
Decode: greedy single-token steps after the first prompt, median per-token time, as llm-drop does.
Run with the Python of .venv-llamacpp (make check-llamacpp creates it); exits 0 with a note when
llama_cpp is not importable.
"""
import argparse
import json
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--llm-drop-json", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--name", help="model name for the heading (default: the file name)")
    ap.add_argument("--report", help="also write the JSON result to this file")
    args = ap.parse_args()
    try:
        import llama_cpp
    except ImportError:
        print("llama.cpp peer: llama_cpp is not installed (run `make check-llamacpp` once to build it); no ratios")
        return 0

    ours = json.load(open(args.llm_drop_json))
    runs = ours["runs"]
    lengths = [r["prompt_tokens"] for r in runs]
    gen = max([r.get("gen_tokens", 0) for r in runs] + [0])
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=max(lengths) + gen + 8, n_threads=args.threads,
                          n_threads_batch=args.threads, n_batch=max(lengths), logits_all=False, verbose=False)
    text = ("The history of the lighthouse is a story of engineering, weather and patience. Keepers "
            "trimmed the wicks each night, polished the lenses and logged every passing ship. ")
    ids = llm.tokenize(text.encode(), add_bos=False, special=False)

    def prompt(n):
        return [ids[i % len(ids)] for i in range(n)]

    peer = {}
    for n in lengths:
        times = []
        for _ in range(args.repetitions + 1):
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(prompt(n))
            times.append(time.perf_counter() - t0)
        peer[f"prefill_{n}"] = n / statistics.median(times[1:])
    if gen:
        steps = []
        for _ in range(args.repetitions):
            llm.reset()
            llm.eval(prompt(lengths[0]))
            for _ in range(gen):
                nxt = llm.sample(temp=0.0)
                t0 = time.perf_counter()
                llm.eval([nxt])
                steps.append(time.perf_counter() - t0)
        peer["decode"] = 1 / statistics.median(steps)

    name = args.name or os.path.basename(args.model)
    threads = f"{args.threads} thread{'s' if args.threads != 1 else ''}"
    print(f"\n{name}: llm-drop vs llama.cpp (llama-cpp-python {llama_cpp.__version__}), {threads} "
          f"(llm-drop: {ours.get('threads', '?')}), medians of {args.repetitions} repetitions; ratio = llm-drop / llama.cpp")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores + 0.5:  # our own threads count in the load too
        # llama.cpp's threads meet at a barrier after every operation; when other processes take the
        # cores, a waiting thread is often descheduled and every step waits for it, so contention costs
        # llama.cpp far more than its own speed would (seen: 2 threads 4-6x slower than 1 thread)
        print(f"note: load average {load:.1f} on {cores} cores: other processes compete for the CPU; "
              f"these figures, llama.cpp's most, are slower than on an idle machine")
    print(f"{'figure (tokens/s)':<22}{'llm-drop':>10}{'llama.cpp':>11}{'ratio':>8}")
    result = {"model": name, "threads": args.threads, "llama_cpp_python": llama_cpp.__version__,
              "load_average": round(load, 2),
              "llama_cpp": peer, "ratios": {}}
    for r in runs:
        key = f"prefill_{r['prompt_tokens']}"
        a, b = r["prefill_tokens_per_second"], peer[key]
        result["ratios"][key] = a / b
        print(f"{'prefill ' + str(r['prompt_tokens']) + ' tokens':<22}{a:>10.1f}{b:>11.1f}{a / b:>8.2f}")
        if r.get("decode_tokens_per_second") and "decode" in peer:
            a, b = r["decode_tokens_per_second"], peer["decode"]
            result["ratios"]["decode"] = a / b
            print(f"{'decode ' + str(r['gen_tokens']) + ' tokens':<22}{a:>10.1f}{b:>11.1f}{a / b:>8.2f}")
    print(json.dumps(result, indent=1, sort_keys=True))
    if args.report:
        # Atomically, like every llm-drop output: a reader never sees half a file.
        tmp = args.report + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
        os.replace(tmp, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
