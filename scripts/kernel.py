#!/usr/bin/env python3
"""Start the `wgflow` kernel headless: warm its build cache, or time it.

    kernel.py prebuild EVCXR_TMPDIR LINKS
    kernel.py warm [--timeout S]
    kernel.py time [--touch FILE] [--repeat N] [--json PATH]

`prebuild` (run by `make kernel` beside the evcxr_jupyter build, before the
kernel exists) compiles tch, its C++ shim and wgflow into evcxr's build
directory exactly as evcxr 0.22 will: its crate manifest (`ctx`, profile dev
at opt-level 2, `wgflow = { path = "LINKS/wgflow" }`), RUSTFLAGS
`-Cprefer-dynamic`, `--target <host>`, target directory `target`, LIBTORCH
`LINKS/libtorch`. Anything that differs from what evcxr does only costs a
rebuild at the `warm` step, which is what checks it.

`warm` (run by `make kernel`) starts the kernel once, so that its start-up
files compile tch, wgflow and their dependencies into evcxr's persistent build
directory (EVCXR_TMPDIR, ~/.cache/wgflow/evcxr-tmp), then runs one cell that
calls into wgflow (which links a cell library against all of them) and shuts
the kernel down. Afterwards a notebook's kernel only checks that nothing
changed.

`time` measures what a notebook user waits for, each figure with the load
average next to it:
  start    kernel process launched -> kernel ready (start-up files done)
  first    first cell of notebooks/00-quickstart.ipynb, submit -> reply
  open     start + first: opening a notebook and running its first cell
  warm     a small cell calling wgflow (median of --repeat runs)
  expr     a cell holding a bare expression, `1 + 1` (median of --repeat runs)
  edited   with --touch FILE: FILE's mtime bumped (as an edit of wgflow
           would), then a cell: evcxr's cargo rebuilds wgflow first
Each figure also as CPU seconds (`cpu_*`: the kernel and the cargo/rustc
processes it ran), which depend less on what else the machine is doing.
`--json PATH` appends the figures as one JSON line. WGFLOW_KERNEL names
another kernelspec to start (default `wgflow`).

Both need jupyter_client (`make kernel` installs it into .venv).
"""

import json
import os
import statistics
import sys
import time

KERNEL = os.environ.get("WGFLOW_KERNEL", "wgflow")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARM_CELL = "let _warm = wgflow::quick();\nprintln!(\"wgflow kernel warm, quick mode {}\", _warm);"
SMALL_CELL = "let _x = Toy::ring().sample(64, Device::Cpu)?;\nprintln!(\"{:?}\", _x.size());"


# evcxr 0.22's manifest for its cell crate (evcxr/src/module.rs), at its default opt-level.
EVCXR_MANIFEST = """
[package]
name = "ctx"
version = "1.0.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[profile.dev]
opt-level = 2
debug = false
strip = "debuginfo"
rpath = true
lto = false
debug-assertions = true
codegen-units = 16
panic = 'unwind'
incremental = true
overflow-checks = true

[dependencies]
wgflow = {{ path = "{dep}" }}
"""


def prebuild(args):
    import subprocess

    if len(args) != 2:
        sys.exit(__doc__)
    tmpdir, links = (os.path.abspath(a) for a in args)
    os.makedirs(os.path.join(tmpdir, "src"), exist_ok=True)
    with open(os.path.join(tmpdir, "Cargo.toml"), "w", encoding="utf-8") as f:
        f.write(EVCXR_MANIFEST.format(dep=os.path.join(links, "wgflow")))
    lib = os.path.join(tmpdir, "src", "lib.rs")
    if not os.path.exists(lib):
        open(lib, "w").close()
    vv = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    host = next(l.split(": ", 1)[1] for l in vv.splitlines() if l.startswith("host: "))
    env = dict(os.environ, CARGO_TARGET_DIR="target", CARGO_BUILD_BUILD_DIR="target",
               RUSTFLAGS="-Cprefer-dynamic", LIBTORCH=os.path.join(links, "libtorch"))
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    t = time.monotonic()
    print(f"prebuild: tch and wgflow for the kernel in {tmpdir} (load {load()})", flush=True)
    rc = subprocess.run(["cargo", "build", "--target", host], cwd=tmpdir, env=env).returncode
    print(f"prebuild: done in {time.monotonic() - t:.0f} s, exit {rc} (load {load()})", flush=True)
    return rc


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_seconds(pid):
    """CPU seconds (user + system) of pid, its waited-for children and its live descendants."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p):
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[1]), sum(int(x) for x in fields[11:15])  # ppid; utime stime cutime cstime

    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stats[int(d)] = stat(d)
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += stats[p][1]
        todo.extend(c for c, (pp, _) in stats.items() if pp == p)
    return total / tick


def first_code_cell(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = c["source"]
            return "".join(src) if isinstance(src, list) else src
    raise SystemExit(f"error: {path} has no code cell")


class Kernel:
    def __init__(self, startup_timeout):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=KERNEL)
        self.t0 = time.monotonic()
        self.km.start_kernel(cwd=ROOT)
        self.kc = self.km.client()
        self.kc.start_channels()
        # evcxr runs its start-up files before it answers on the shell channel.
        self.kc.wait_for_ready(timeout=startup_timeout)
        self.ready = time.monotonic() - self.t0
        self.pid = self.km.provisioner.process.pid

    def cpu(self):
        return cpu_seconds(self.pid)

    def run(self, code, timeout):
        """Executes code; returns (seconds to reply, seconds to first output, outputs)."""
        t = time.monotonic()
        msg_id = self.kc.execute(code, store_history=True)
        first, outputs, status = None, [], None
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind in ("stream", "execute_result", "display_data", "error"):
                if first is None:
                    first = time.monotonic() - t
                outputs.append(msg["content"])
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        status = reply["content"]["status"]
        secs = time.monotonic() - t
        errors = [o for o in outputs if "ename" in o or o.get("name") == "stderr"]
        if status != "ok" or errors:
            raise SystemExit(f"error: cell failed ({status}): {code[:80]!r}\n{errors}")
        return secs, first, outputs

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


def warm(args):
    timeout = int(args[args.index("--timeout") + 1]) if "--timeout" in args else 3600
    print(f"warming the {KERNEL} kernel (first time: compiles tch's C++ shim, tch and wgflow; load {load()})", flush=True)
    k = Kernel(timeout)
    print(f"  start-up files done in {k.ready:.1f} s", flush=True)
    try:
        secs, _, out = k.run(WARM_CELL, timeout)
    finally:
        k.close()
    text = "".join(o.get("text", "") for o in out).strip()
    print(f"  first cell in {secs:.1f} s: {text} (load {load()})")
    return 0


def timing(args):
    touch = args[args.index("--touch") + 1] if "--touch" in args else None
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
    out = args[args.index("--json") + 1] if "--json" in args else None
    first_cell = first_code_cell(os.path.join(ROOT, "notebooks/00-quickstart.ipynb"))
    res = {"load_before": load()}
    k = Kernel(3600)
    try:
        measure(k, res, first_cell, repeat, touch)
    finally:
        k.close()
    for key, v in res.items():
        print(f"{key:12} {v}")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(res) + "\n")
    return 0


def measure(k, res, first_cell, repeat, touch):
    res["start"] = round(k.ready, 2)
    res["cpu_start"] = round(k.cpu(), 2)
    res["load_start"] = load()
    secs, first, _ = k.run(first_cell, 3600)
    res["first"] = round(secs, 2)
    res["cpu_first"] = round(k.cpu() - res["cpu_start"], 2)
    res["open"] = round(k.ready + secs, 2)
    res["load_first"] = load()
    for name, code in (("warm", SMALL_CELL), ("expr", "1 + 1")):
        c = k.cpu()
        runs = [k.run(code, 600)[0] for _ in range(repeat)]
        res["cpu_" + name] = round((k.cpu() - c) / repeat, 2)
        res[name] = round(statistics.median(runs), 2)
        res[name + "_runs"] = [round(r, 2) for r in runs]
    res["load_warm"] = load()
    if touch:
        os.utime(os.path.join(ROOT, touch))
        c = k.cpu()
        res["edited"] = round(k.run(SMALL_CELL, 3600)[0], 2)
        res["cpu_edited"] = round(k.cpu() - c, 2)
        res["load_edited"] = load()


def main(argv):
    if len(argv) < 2 or argv[1] not in ("prebuild", "warm", "time"):
        sys.exit(__doc__)
    return {"prebuild": prebuild, "warm": warm, "time": timing}[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
