"""Where the time of a training epoch goes: libtorch's autograd profiler on the
reference loops of `train.py`, for `make bench` (BENCHMARKS.md).

    python profile_train.py THREADS BENCH...

For each benchmark, two variants of the same loop are profiled on the CPU:
`relu` (the reference as users run it) and `wgflow-ops` (the same loop with
wgflow's two structural changes: the activation `x.clamp_min(0)`, the same
function as `nn.ReLU` but whose derivative does not make the gradient
penalty's double backward push zeros through the forward pass, and φ(y),
φ(x) evaluated in one stacked pass). Prints one line per variant:

    PROFILE {"bench", "variant", "threads", "epoch_s", "profiled_s", "kernel_s",
             "kernel_share", "gemm_s", "gemm_calls", "ops",
             "top": [[name, seconds, calls], ...]}

all per epoch: `epoch_s` the wall-clock time without the profiler (median of
alternating repetitions of the two variants), `profiled_s` under the
profiler, `kernel_s` the self time of all aten operators there and
`kernel_share` = kernel_s / profiled_s (the share left when no interpreter
runs between the operators; the profiler slows both, so only shares and
counts are read from it), `gemm_s`/`gemm_calls` the matrix products (mm,
addmm, bmm, convolutions), `ops` the number of aten operator calls.
"""

import json
import sys
import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import train as T  # noqa: E402


class ClampMin(nn.Module):
    def forward(self, x):
        return x.clamp_min(0)


GEMM = {"aten::mm", "aten::addmm", "aten::bmm", "aten::mkldnn_convolution", "aten::convolution_backward",
        "aten::_convolution", "aten::mkldnn_convolution_backward"}


def build(bench, variant):
    relu = nn.ReLU
    if variant == "wgflow-ops":
        T.nn.ReLU = ClampMin
    try:
        torch.manual_seed(0)
        epoch = {"w1fe-2d": T.setup_w1fe_2d, "da": T.setup_da, "dcgan-rwp": T.setup_dcgan_rwp}[bench](
            torch.device("cpu"))
    finally:
        T.nn.ReLU = relu
    stacked = variant == "wgflow-ops"

    def run():
        T.STACKED = stacked
        return epoch()

    return run


def bench_variants(bench, threads, epochs, reps=5):
    """Both variants, unprofiled wall time first (repetitions alternating,
    median), then one profiled run each for the operator breakdown."""
    variants = {v: build(bench, v) for v in ["relu", "wgflow-ops"]}
    for run in variants.values():
        for _ in range(3):
            run()
    walls = {v: [] for v in variants}
    for _ in range(reps):
        for v, run in variants.items():
            t = time.perf_counter()
            for _ in range(epochs):
                run()
            walls[v].append((time.perf_counter() - t) / epochs)
    out = []
    for v, run in variants.items():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t = time.perf_counter()
            for _ in range(epochs):
                run()
            profiled = (time.perf_counter() - t) / epochs
        ev = [e for e in prof.key_averages() if e.key.startswith("aten::")]
        kernel = sum(e.self_cpu_time_total for e in ev) / 1e6 / epochs
        gemm = [e for e in ev if e.key in GEMM]
        top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:8]
        out.append({
            "bench": bench,
            "variant": v,
            "threads": threads,
            "epoch_s": sorted(walls[v])[len(walls[v]) // 2],
            "profiled_s": profiled,
            "kernel_s": kernel,
            "kernel_share": kernel / profiled,
            "gemm_s": sum(e.self_cpu_time_total for e in gemm) / 1e6 / epochs,
            "gemm_calls": sum(e.count for e in gemm) / epochs,
            "ops": sum(e.count for e in ev) / epochs,
            "top": [[e.key, e.self_cpu_time_total / 1e6 / epochs, e.count / epochs] for e in top],
        })
    return out


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    for bench in sys.argv[2:]:
        epochs = 2 if bench == "dcgan-rwp" else 5
        for line in bench_variants(bench, threads, epochs):
            print("PROFILE " + json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
