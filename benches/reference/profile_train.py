"""Where the time of a training epoch goes: libtorch's autograd profiler on the
reference loops of `train.py`, for `make bench` (BENCHMARKS.md).

    python profile_train.py THREADS BENCH...

For each benchmark, two variants of the same loop are profiled on the CPU:
`relu` (the reference as users run it) and `wgflow-ops` (the same loop with
wgflow's two structural changes: the activation `x.clamp_min(0)`, the same
function as `nn.ReLU` but whose derivative does not make the gradient
penalty's double backward push zeros through the forward pass, and φ(y),
φ(x) evaluated in one stacked pass). Prints one line per variant:

    PROFILE {"bench", "variant", "threads", "epoch_s", "kernel_s", "gemm_s",
             "gemm_calls", "ops", "top": [[name, seconds, calls], ...]}

all per epoch: `epoch_s` the wall-clock time under the profiler, `kernel_s`
the self time of all aten operators (what is left when no interpreter runs
between them), `gemm_s`/`gemm_calls` the matrix products (mm, addmm, bmm,
convolutions), `ops` the number of aten operator calls.
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


def run(bench, variant, threads, epochs):
    relu = nn.ReLU
    if variant == "wgflow-ops":
        T.nn.ReLU = ClampMin
    try:
        torch.manual_seed(0)
        epoch = {"w1fe-2d": T.setup_w1fe_2d, "da": T.setup_da, "dcgan-rwp": T.setup_dcgan_rwp}[bench](
            torch.device("cpu"))
    finally:
        T.nn.ReLU = relu
    T.STACKED = variant == "wgflow-ops"
    for _ in range(3):
        epoch()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        for _ in range(epochs):
            epoch()
        wall = time.perf_counter() - t
    ev = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    kernel = sum(e.self_cpu_time_total for e in ev) / 1e6 / epochs
    gemm = [e for e in ev if e.key in GEMM]
    top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:8]
    return {
        "bench": bench,
        "variant": variant,
        "threads": threads,
        "epoch_s": wall / epochs,
        "kernel_s": kernel,
        "gemm_s": sum(e.self_cpu_time_total for e in gemm) / 1e6 / epochs,
        "gemm_calls": sum(e.count for e in gemm) / epochs,
        "ops": sum(e.count for e in ev) / epochs,
        "top": [[e.key, e.self_cpu_time_total / 1e6 / epochs, e.count / epochs] for e in top],
    }


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    for bench in sys.argv[2:]:
        epochs = 2 if bench == "dcgan-rwp" else 5
        for variant in ["relu", "wgflow-ops"]:
            print("PROFILE " + json.dumps(run(bench, variant, threads, epochs)), flush=True)


if __name__ == "__main__":
    main()
