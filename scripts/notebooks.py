#!/usr/bin/env python3
"""Execute wgflow's notebooks headless with the `wgflow` kernel and check them.

    notebooks.py run [--out DIR | --in-place] [--timeout S] NOTEBOOK...
    notebooks.py check NOTEBOOK...
    notebooks.py selftest FIXTURE...

`run` executes each notebook (nbclient, kernel `wgflow`), writes the executed
copy (to DIR/NAME.ipynb, or over the notebook with --in-place) and then checks
it. `check` only checks already executed notebooks. A notebook fails the check
when any cell has an `error` output (a compile error, or a panic, which the
kernel's start-up file turns into an abort under WGFLOW_ABORT_ON_PANIC=1) or
writes to stderr (evcxr reports a top-level `?` error on stderr and still
calls the cell a success; tag a cell `allow-stderr` to permit stderr), or
shows a training run's progress on more than one line: wgflow writes it as
one line rewritten in place (carriage returns, which the `wgflow` kernel's
patched evcxr forwards), so several visible lines for one run mean a kernel
or a wgflow that prints line by line. Exit status 1 when any notebook fails.
`selftest` runs notebooks that must fail (tests/notebooks/broken-*.ipynb;
executed copies in runs/notebooks/selftest/) and exits 1 if one of them
passes.

`check` needs only the standard library; `run` and `selftest` need nbclient
and nbformat (`make kernel` installs them into .venv).
"""

import json
import os
import re
import sys
import time

KERNEL = "wgflow"


def problems(nb):
    """Human-readable failures of an executed notebook (dict), one per line."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "error":
                text = o.get("evalue") or " ".join(o.get("traceback", []))
                out.append(f"cell {i}: error: {first_line(text)}")
            elif kind == "stream" and o.get("name") == "stderr" and "allow-stderr" not in tags:
                text = stream_text(o)
                if text.strip():
                    out.append(f"cell {i}: stderr: {first_line(text)}")
        stdout = "".join(stream_text(o) for o in cell.get("outputs", []) if o.get("name") == "stdout")
        for label, n in split_progress(visible(stdout)).items():
            out.append(f"cell {i}: the progress of {label!r} shows on {n} lines, not one")
    return out


# A state of wgflow's progress line (src/progress.rs), `LABEL epoch e/n …`.
# Rewritten in place, a run leaves none visible once it ends (its summary,
# `LABEL done: e/n epochs …`, replaces it) and at most one while it runs;
# printed line by line, it leaves about twenty.
PROGRESS = re.compile(r"^(.*?) ?epoch +\d+/\d+", re.M)


def split_progress(shown):
    """{label: lines} of the runs whose progress states show on more than one
    line of the visible text `shown` (also scripts/browser_check.py's rule)."""
    states = [m.group(1) for m in PROGRESS.finditer(shown)]
    return {label: states.count(label) for label in sorted(set(states)) if states.count(label) > 1}


def stream_text(o):
    t = o.get("text", "")
    return "".join(t) if isinstance(t, list) else t


def visible(text):
    """What Jupyter shows of a stream: within a line, a carriage return goes
    back to its start and what follows overwrites it."""
    lines = []
    for line in text.split("\n"):
        shown = ""
        for part in line.split("\r"):
            shown = part + shown[len(part):]
        lines.append(shown)
    return "\n".join(lines)


def first_line(text):
    lines = [l for l in str(text).splitlines() if l.strip()]
    return lines[0][:300] if lines else "(empty)"


def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def execute(path, timeout, startup_timeout):
    """Executes a notebook; returns (executed notebook, extra problems)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=timeout,
        # The start-up file compiles wgflow (and tch on a cold cache) before
        # the kernel answers: minutes the first time.
        startup_timeout=startup_timeout,
        allow_errors=True,
        resources={"metadata": {"path": root}},
    )
    extra = []
    try:
        execute_draining(client, nb)
    except (CellTimeoutError, DeadKernelError) as e:
        extra.append(f"kernel: {type(e).__name__}: {first_line(e)}")
    except RuntimeError as e:  # kernel did not start
        extra.append(f"kernel: {first_line(e)}")
    return nb, extra


def execute_draining(client, nb):
    """Runs every cell like `client.execute()`, then waits for late output.

    evcxr forwards the cell process's stderr asynchronously: the error of a
    top-level `?` can reach the iopub channel after the cell's `idle` status,
    where nbclient no longer listens, and the cell looks clean. After each
    code cell the channel is drained for up to DRAIN_S seconds of quiet and
    every late stream message is added to that cell's outputs.
    """
    import queue

    import nbformat
    from nbclient.util import run_sync

    with client.setup_kernel():
        get_msg = run_sync(client.kc.iopub_channel.get_msg)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            if cell.cell_type != "code":
                continue
            while True:
                try:
                    msg = get_msg(timeout=DRAIN_S)
                except queue.Empty:
                    break
                if msg["msg_type"] == "stream":
                    c = msg["content"]
                    cell.outputs.append(nbformat.v4.new_output("stream", name=c["name"], text=c["text"]))
            merge_streams(cell)


def merge_streams(cell):
    """Joins consecutive stream outputs of the same name into one, as Jupyter
    shows them: a progress line updated in place (states ending in `\\r`)
    becomes one stream whose text keeps its carriage returns."""
    merged = []
    for o in cell.outputs:
        if o.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == o.get("name"):
            merged[-1]["text"] += o["text"]
        else:
            merged.append(o)
    cell.outputs = merged


DRAIN_S = 1.0


def run(args):
    out_dir, in_place, timeout, startup = "runs/notebooks", False, 1800, 3600
    paths = []
    it = iter(args)
    for a in it:
        if a == "--out":
            out_dir = next(it)
        elif a == "--in-place":
            in_place = True
        elif a == "--timeout":
            timeout = int(next(it))
        else:
            paths.append(a)
    if not paths:
        sys.exit("error: no notebooks given")
    import nbformat

    failed = 0
    for p in paths:
        start = time.monotonic()
        nb, extra = execute(p, timeout, startup)
        dest = p if in_place else os.path.join(out_dir, os.path.basename(p))
        write_atomic(dest, nbformat.writes(nb))
        bad = extra + problems(json.loads(nbformat.writes(nb)))
        secs = time.monotonic() - start
        if bad:
            failed += 1
            print(f"FAIL {p} ({secs:.0f} s, executed copy {dest})")
            for b in bad:
                print(f"  {b}")
        else:
            print(f"ok   {p} ({secs:.0f} s, executed copy {dest})")
    return 1 if failed else 0


def check(paths):
    failed = 0
    for p in paths:
        bad = problems(read(p))
        if bad:
            failed += 1
            print(f"FAIL {p}")
            for b in bad:
                print(f"  {b}")
        else:
            print(f"ok   {p}")
    return 1 if failed else 0


def selftest(paths):
    """Each fixture must fail; prints why."""
    if not paths:
        sys.exit("error: no fixtures given")
    import nbformat

    passed = 0
    for p in paths:
        nb, extra = execute(p, 600, 3600)
        text = nbformat.writes(nb)
        write_atomic(os.path.join("runs/notebooks/selftest", os.path.basename(p)), text)
        bad = extra + problems(json.loads(text))
        if bad:
            print(f"ok   {p} fails as it must: {bad[0]}")
        else:
            passed += 1
            print(f"FAIL {p} passed the check but must fail")
    return 1 if passed else 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("run", "check", "selftest"):
        sys.exit(__doc__)
    cmd, rest = argv[1], argv[2:]
    if cmd == "run":
        return run(rest)
    if cmd == "check":
        return check(rest)
    return selftest(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
