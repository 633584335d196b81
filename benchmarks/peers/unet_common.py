"""Shared pieces of the peer benchmarks: arguments, FLOP count, timing and JSON output.

The FLOP count is the one `liverseg bench unet` reports (UNetConfig.forwardFLOPs): 2 x multiply-adds of
every convolution of one forward pass; a training step counts 3x that (forward, backward-data,
backward-weights)."""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def parse_args(framework):
    p = argparse.ArgumentParser(description=f"Time the LiverSeg U-Net (depth 4, no batch norm) in {framework}.")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=3, help="timed repetitions (median reported) after one warm-up")
    p.add_argument("--only", choices=["inference", "train"], default=None)
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def forward_flops(batch, size, filters, depth, in_ch=1, classes=1):
    total = 0.0
    h = w = float(size)
    c = float(in_ch)
    skips = []
    for l in range(depth + 1):
        co = float(filters << l)
        total += 2 * 9 * (c * co + co * co) * h * w
        skips.append((co, h, w))
        c = co
        if l < depth:
            h, w = h // 2, w // 2
    for l in range(depth - 1, -1, -1):
        co, hs, ws = skips[l]
        total += 2 * 4 * c * co * h * w
        total += 2 * 9 * (2 * co * co + co * co) * hs * ws
        c, h, w = co, hs, ws
    total += 2 * c * classes * h * w
    return total * batch


def expected_parameters(filters, depth, in_ch=1, classes=1):
    ch = [filters << l for l in range(depth + 1)]
    n = 0
    for l in range(depth + 1):
        ci = in_ch if l == 0 else ch[l - 1]
        n += ci * ch[l] * 9 + ch[l] + ch[l] * ch[l] * 9 + ch[l]
    for l in range(depth):
        n += ch[l + 1] * ch[l] * 4 + ch[l]                                   # transposed conv
        n += 2 * ch[l] * ch[l] * 9 + ch[l] + ch[l] * ch[l] * 9 + ch[l]        # decoder TwoConv
    n += ch[0] * classes + classes
    return n


def median_time(fn, iterations):
    """Median wall and process CPU seconds (CPU time separates work from waiting for a core)."""
    fn()  # warm-up: graph tracing / primitive creation / first touch of buffers
    t, c = [], []
    for _ in range(iterations):
        s, cs = time.perf_counter(), time.process_time()
        fn()
        t.append(time.perf_counter() - s)
        c.append(time.process_time() - cs)
    return statistics.median(t), statistics.median(c)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def report(args, framework, version, parameters, infer_s, train_s):
    flops = forward_flops(args.batch, args.size, args.filters, args.depth)
    out = {"framework": framework, "version": version, "size": args.size, "filters": args.filters,
           "batch": args.batch, "depth": args.depth, "threads": args.threads, "parameters": parameters,
           "forward_gflop": flops / 1e9, "train_gflop": 3 * flops / 1e9, "peak_rss_mb": peak_rss_mb()}
    if infer_s is not None:
        infer_s, out["inference_cpu_seconds"] = infer_s
        out["inference_seconds"] = infer_s
        out["inference_gflops"] = flops / infer_s / 1e9
    if train_s is not None:
        train_s, out["train_step_cpu_seconds"] = train_s
        out["train_step_seconds"] = train_s
        out["train_gflops"] = 3 * flops / train_s / 1e9
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"{framework} {version}: U-Net depth {args.depth}, F={args.filters}, {args.size}x{args.size}, "
              f"batch {args.batch}, {args.threads} thread(s), {parameters} parameters")
        if infer_s is not None:
            print(f"  inference   {infer_s:.3f} s  ({flops / infer_s / 1e9:.1f} GFLOP/s)")
        if train_s is not None:
            print(f"  train step  {train_s:.3f} s  ({3 * flops / train_s / 1e9:.1f} GFLOP/s)")
        print(f"  peak RSS    {out['peak_rss_mb']:.0f} MB")
    sys.stdout.flush()


def set_thread_env(threads):
    """Must run before the framework is imported: OpenMP / oneDNN read these at start-up."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
