"""The float32 matrix-multiply ceiling of this machine: GFLOP/s of a 2048×2048×2048 SGEMM in
PyTorch (MKL / oneDNN) on `--threads` threads, median of `--iterations` after a warm-up. Run by
compare.py next to the U-Net measurements, so "GFLOP/s" there can be read against it."""
import argparse
import json
import os
import time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--iterations", type=int, default=7)
p.add_argument("--n", type=int, default=2048)
a = p.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
import torch  # noqa: E402

torch.set_num_threads(a.threads)
x = torch.rand(a.n, a.n)
y = torch.rand(a.n, a.n)
torch.mm(x, y)
times = []
for _ in range(a.iterations):
    t = time.perf_counter()
    torch.mm(x, y)
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"gemm_gflops": 2 * a.n ** 3 / times[len(times) // 2] / 1e9, "n": a.n, "threads": a.threads}))
