"""Runs `liverseg bench unet --json`, the Keras and the PyTorch twin of the same U-Net in alternation
(one process per measurement, order rotated each round) and prints medians, GFLOP/s and the ratios
ours / theirs. Used by run.sh; see README.md."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import unet_common as uc  # noqa: E402

CONFIGS = {
    # name: (size, filters, batch, modes)
    "256-f32": (256, 32, 4, ("inference", "train")),
    "512-f16": (512, 16, 4, ("inference", "train")),
    "512-f32": (512, 32, 4, ("inference",)),
    "smoke": (64, 8, 2, ("inference", "train")),   # a quick check that everything runs
}


def cpu_busy(seconds=1.0):
    """Cores busy over `seconds` (from /proc/stat), while none of our benchmark processes runs."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v), idle
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    ncpu = os.cpu_count() or 1
    return ncpu * (1 - (i1 - i0) / max(1, t1 - t0))


def wait_quiet(max_busy, max_wait, log):
    start = time.time()
    while True:
        busy = cpu_busy(2.0)
        if busy <= max_busy or time.time() - start > max_wait:
            if busy > max_busy:
                log(f"  (other work keeps {busy:.2f} cores busy; going on after waiting {max_wait:.0f} s)")
            return busy
        log(f"  (other work keeps {busy:.2f} cores busy; waiting)")
        time.sleep(20)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--liverseg", default=os.path.join(HERE, "..", "..", ".build", "release", "liverseg"))
    p.add_argument("--torch-python", default=None)
    p.add_argument("--keras-python", default=None)
    p.add_argument("--configs", default="256-f32,512-f16,512-f32")
    p.add_argument("--frameworks", default="ours,keras,pytorch",
                   help="comma list of ours, ours-bf16, ours-layers (inference and training without the compiled graphs), keras, pytorch")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iterations", type=int, default=3, help="timed repetitions per process (after one warm-up)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-busy", type=float, default=0.35, help="cores other work may keep busy before a run")
    p.add_argument("--max-wait", type=float, default=600)
    p.add_argument("--out", default=None, help="also write all samples as JSON here")
    a = p.parse_args()

    def log(s):
        print(s, file=sys.stderr, flush=True)

    def command(fw, size, filters, batch, only):
        common = ["--size", str(size), "--filters", str(filters), "--batch", str(batch),
                  "--threads", str(a.threads), "--iterations", str(a.iterations), "--json"]
        if only:
            common += ["--only", only]
        if fw == "ours":
            return [a.liverseg, "bench", "unet"] + common
        if fw == "ours-bf16":
            return [a.liverseg, "bench", "unet", "--precision", "bf16"] + common
        if fw == "ours-layers":   # inference and training layer by layer, as before the compiled graphs
            return [a.liverseg, "bench", "unet", "--no-graph"] + common
        py = a.torch_python if fw == "pytorch" else a.keras_python
        script = "torch_unet.py" if fw == "pytorch" else "keras_unet.py"
        return [py, os.path.join(HERE, script)] + common

    frameworks = a.frameworks.split(",")
    samples = []
    ceilings = []

    def ceiling():
        """SGEMM GFLOP/s now (PyTorch), the machine's fp32 matrix-multiply ceiling."""
        if not a.torch_python:
            return
        wait_quiet(a.max_busy, a.max_wait, log)
        res = subprocess.run([a.torch_python, os.path.join(HERE, "gemm_ceiling.py"), "--threads", str(a.threads)],
                             capture_output=True, text=True)
        if res.returncode == 0:
            ceilings.append(json.loads(res.stdout.strip().splitlines()[-1])["gemm_gflops"])
            log(f"fp32 GEMM ceiling (2048³ SGEMM, PyTorch, {a.threads} threads): {ceilings[-1]:.0f} GFLOP/s")

    with open("/proc/loadavg") as f:
        log(f"load average at start: {f.read().strip()}")
    ceiling()
    for cname in a.configs.split(","):
        size, filters, batch, modes = CONFIGS[cname]
        only = None if len(modes) == 2 else modes[0]
        for r in range(a.rounds):
            order = frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]
            for fw in order:
                fw_only = only
                if fw == "ours-bf16":
                    fw_only = "inference"   # a setting of inference only
                busy = wait_quiet(a.max_busy, a.max_wait, log)
                with open("/proc/loadavg") as f:
                    load = f.read().split()[0]
                cmd = command(fw, size, filters, batch, fw_only)
                t0 = time.time()
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    log(f"{fw} failed ({res.returncode}): {res.stderr[-2000:]}")
                    sys.exit(1)
                line = [l for l in res.stdout.splitlines() if l.strip()]
                d = json.loads(res.stdout[res.stdout.index("{"):]) if fw.startswith("ours") else json.loads(line[-1])
                d.update(framework=fw, config=cname, round=r, other_busy_cores=busy, loadavg1=float(load))
                samples.append(d)
                log(f"{cname} round {r + 1}/{a.rounds} {fw:10s} infer {d.get('inference_seconds', float('nan')):.3f} s "
                    f"(cpu {d.get('inference_cpu_seconds', float('nan')):.2f}) "
                    f"train {d.get('train_step_seconds', float('nan')):.3f} s (cpu {d.get('train_step_cpu_seconds', float('nan')):.2f})"
                    f"  params {d['parameters']}  "
                    f"[other work {busy:.2f} cores, load {load}, wall {time.time() - t0:.0f} s]")

    ceiling()
    if a.out:
        with open(a.out, "w") as f:
            json.dump(samples, f, indent=1)

    # Parameter counts must agree (same network in every framework).
    print()
    for cname in a.configs.split(","):
        size, filters, batch, _ = CONFIGS[cname]
        counts = {s["framework"]: s["parameters"] for s in samples if s["config"] == cname}
        exp = uc.expected_parameters(filters, 4)
        flag = "OK" if all(v == exp for v in counts.values()) else "MISMATCH"
        print(f"parameters {cname}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" (expected {exp:,}) {flag}")
    print()
    print("Wall seconds (median over rounds of per-process medians), GFLOP/s from wall time, process CPU seconds;")
    print("ratios ours / theirs (< 1: ours faster) from wall time, and in brackets from CPU time.")
    print()
    print("| config | framework | inference s | GFLOP/s | CPU s | ours/theirs | train step s | GFLOP/s | CPU s | ours/theirs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    keys = ("inference_seconds", "inference_cpu_seconds", "train_step_seconds", "train_step_cpu_seconds")
    for cname in a.configs.split(","):
        size, filters, batch, _ = CONFIGS[cname]
        flops = uc.forward_flops(batch, size, filters, 4)
        med = {}
        for fw in frameworks:
            ss = [s for s in samples if s["config"] == cname and s["framework"] == fw]
            med[fw] = {k: (statistics.median([s[k] for s in ss]) if ss and k in ss[0] else None) for k in keys}
        ours = med.get("ours", {k: None for k in keys})
        for fw in frameworks:
            m = med[fw]
            row = [f"{size}², F={filters}, b{batch}", fw]
            for wall, cpu, fl in (("inference_seconds", "inference_cpu_seconds", flops),
                                  ("train_step_seconds", "train_step_cpu_seconds", 3 * flops)):
                if m[wall] is None:
                    row += ["-", "-", "-", "-"]
                    continue
                row += [f"{m[wall]:.3f}", f"{fl / m[wall] / 1e9:.0f}", f"{m[cpu]:.2f}"]
                if fw != "ours" and ours[wall]:
                    row.append(f"{ours[wall] / m[wall]:.2f} ({ours[cpu] / m[cpu]:.2f})")
                else:
                    row.append("-")
            print("| " + " | ".join(row) + " |")
    if ceilings:
        print(f"\nfp32 GEMM ceiling in this run (2048³ SGEMM, PyTorch): " + ", ".join(f"{c:.0f}" for c in ceilings)
              + " GFLOP/s (before and after). GFLOP/s above count a direct convolution's FLOPs; with Winograd"
              " (ours, fp32 3×3) fewer are done, so they can exceed the ceiling.")
    busy = [s["other_busy_cores"] for s in samples]
    print(f"\nother work before runs: median {statistics.median(busy):.2f}, max {max(busy):.2f} cores busy; "
          f"ratios < 1 mean ours is faster")


if __name__ == "__main__":
    main()
