#!/usr/bin/env python3
"""Run a notebook in JupyterLab in headless Chromium and check what it shows.

    browser_check.py [--out DIR] [--min-svg N] [--min-png N] [--timeout S] [NOTEBOOK]

Starts JupyterLab (from this venv) on a free local port with a throw-away
settings and workspace directory (autosave off, so the notebook on disk is
never rewritten; windowing off, so every cell is in the page), opens NOTEBOOK
(default notebooks/00-quickstart.ipynb) with its own kernel (`wgflow`), runs
all cells through JupyterLab's own "Run All Cells" command and then checks,
without knowing the notebook's cells:

  - every code cell ran (an execution count, none still queued or running)
    and the kernel is idle and alive;
  - no cell has an error output, and none wrote to stderr unless it is tagged
    `allow-stderr` (the rule of scripts/notebooks.py);
  - every SVG and PNG output in the notebook's model is rendered in the page
    (an <svg> or loaded <img> of non-zero size in an output area), with at
    least --min-svg SVG figures (default 3) and --min-png PNG figures
    (default 1);
  - each training run's progress is rendered as one line (wgflow writes it
    as one line rewritten in place with carriage returns, ending as the
    run's summary), never as one line per update: in the end, and at every
    poll (once a second) while the cells run, when the distinct states the
    line went through are recorded;

and writes a screenshot of the executed notebook to DIR/<name>.png (default
DIR runs/browser-check; the notebook's figures are cropped into
DIR/<name>-figures.png) with a JSON summary DIR/<name>.json.

Set in the kernel's environment (the server's, which the kernel inherits):
WGFLOW_QUICK=1 unless set, WGFLOW_ABORT_ON_PANIC=1 and OMP_NUM_THREADS=1
unless set. Needs Debian's chromium and chromium-driver and selenium
(`make browser-check` installs them). Exit status 1 when a check fails.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from notebooks import PROGRESS, split_progress  # the checker's progress rule (scripts/notebooks.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

SETTINGS = {
    # Never write the notebook back: the committed outputs stay as they are.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Every cell in the DOM (JupyterLab 4 otherwise virtualises long notebooks).
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No network: no news or update checks.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# The notebook panel's state, read from JupyterLab's own model and DOM.
STATE_JS = r"""
const app = window.jupyterapp;
if (!app) return {ready: false, why: 'no window.jupyterapp'};
const w = app.shell.currentWidget;
if (!w || !w.content || !w.sessionContext) return {ready: false, why: 'no notebook panel'};
const sc = w.sessionContext;
const k = sc.session && sc.session.kernel;
const cells = [];
w.content.widgets.forEach((cell, i) => {
  const m = cell.model;
  if (m.type !== 'code') return;
  const outs = [];
  for (let j = 0; j < m.outputs.length; j++) {
    const o = m.outputs.get(j).toJSON();
    outs.push({type: o.output_type, name: o.name || null,
               mimes: Object.keys(o.data || {}),
               text: o.output_type === 'stream' ? String(o.text).slice(0, 300) :
                     o.output_type === 'error' ? (o.ename + ': ' + o.evalue).slice(0, 300) : null});
  }
  const prompt = cell.node.querySelector('.jp-InputArea-prompt');
  const svgs = Array.from(cell.node.querySelectorAll('.jp-Cell-outputArea .jp-RenderedSVG'))
    .map(h => { const e = h.querySelector('svg, img'); if (!e) return [0, 0];
                const r = e.getBoundingClientRect();
                return (e.tagName.toLowerCase() === 'img' && !(e.complete && e.naturalWidth > 0)) ? [0, 0] : [r.width, r.height]; });
  const pngs = Array.from(cell.node.querySelectorAll('.jp-Cell-outputArea .jp-RenderedImage img'))
    .filter(e => (e.getAttribute('src') || '').startsWith('data:image/png'))
    .map(e => { const r = e.getBoundingClientRect(); return (e.complete && e.naturalWidth > 0) ? [r.width, r.height] : [0, 0]; });
  const shown = Array.from(cell.node.querySelectorAll(
      '.jp-Cell-outputArea .jp-RenderedText[data-mime-type="application/vnd.jupyter.stdout"]'))
    .map(e => e.innerText);
  cells.push({index: i, count: m.executionCount, prompt: prompt ? prompt.textContent.trim() : '',
              tags: m.getMetadata('tags') || [], outputs: outs, svgs: svgs, pngs: pngs, shown: shown,
              source: m.sharedModel.getSource().slice(0, 80)});
});
return {ready: true, kernel: k ? k.name : null, status: k ? k.status : sc.kernelDisplayStatus,
        busy: sc.kernelDisplayStatus, pending: w.content.node.querySelectorAll('.jp-InputArea-prompt').length &&
        Array.from(w.content.node.querySelectorAll('.jp-InputArea-prompt')).filter(p => p.textContent.includes('*')).length,
        dirty: w.context.model.dirty, cells: cells};
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def arg(args, name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i : i + 2]
        return type(default)(v)
    return default


def start_lab(port, token, tmp, env):
    settings = os.path.join(tmp, "settings")
    for name, value in SETTINGS.items():
        p = os.path.join(settings, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            json.dump(value, f)
    jupyter = os.path.join(os.path.dirname(sys.executable), "jupyter")
    log = open(os.path.join(tmp, "lab.log"), "w")
    cmd = [
        jupyter, "lab", "--no-browser", f"--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--ServerApp.root_dir={ROOT}", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={os.path.join(tmp, 'ws')}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # CI and this project's machines run as root
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: jupyter lab exited ({proc.returncode}); log {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, log.name
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"error: jupyter lab did not answer on port {port} in 120 s; log {log.name}")


def browser(tmp, width, height):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", f"--user-data-dir={os.path.join(tmp, 'chromium')}",
              f"--window-size={width},{height}"):
        opts.add_argument(a)
    return webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))


def wait(driver, what, pred, timeout, every=1.0, seen=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = driver.execute_script(STATE_JS)
        if seen is not None:
            watch_progress(last, seen)
        if pred(last):
            return last
        time.sleep(every)
    raise TimeoutError(f"{what}: not reached in {timeout} s; last state: {json.dumps(last)[:1500]}")


# wgflow's progress line (src/progress.rs) once its run ended, as rendered
# (while the run goes: `LABEL epoch e/n …`, notebooks.PROGRESS).
SUMMARY = re.compile(r"^(.*?) done: \d+/\d+ epochs", re.M)


def watch_progress(state, seen):
    """Records what a run's progress looked like while the cells ran: the
    distinct lines shown per run (the states the in-place line went through)
    and any moment at which one run showed on more than one line."""
    for c in state.get("cells", []) if state.get("ready") else []:
        for text in c.get("shown", []):
            for m in [*PROGRESS.finditer(text), *SUMMARY.finditer(text)]:
                seen["states"].setdefault(m.group(1), set()).add(m.group(0))
            seen["split"].update(split_progress(text))


def problems(state, min_svg, min_png):
    out = []
    n_runs = 0
    if state["status"] not in ("idle",):
        out.append(f"kernel status {state['status']!r} after the run (expected idle)")
    n_svg = n_png = 0
    for c in state["cells"]:
        where = f"cell {c['index']} ({c['source'].splitlines()[0] if c['source'] else ''!r})"
        if c["count"] is None or "*" in c["prompt"]:
            out.append(f"{where}: did not run (prompt {c['prompt']!r})")
        want_svg = sum("image/svg+xml" in o["mimes"] for o in c["outputs"])
        want_png = sum("image/png" in o["mimes"] and "image/svg+xml" not in o["mimes"] for o in c["outputs"])
        for o in c["outputs"]:
            if o["type"] == "error":
                out.append(f"{where}: error output: {o['text']}")
            elif o["type"] == "stream" and o["name"] == "stderr" and "allow-stderr" not in c["tags"]:
                if (o["text"] or "").strip():
                    out.append(f"{where}: stderr: {o['text'].strip().splitlines()[0]}")
        shown_svg = [s for s in c["svgs"] if s[0] > 0 and s[1] > 0]
        shown_png = [s for s in c["pngs"] if s[0] > 0 and s[1] > 0]
        if len(shown_svg) < want_svg:
            out.append(f"{where}: {want_svg} SVG outputs, {len(shown_svg)} rendered (sizes {c['svgs']})")
        if len(shown_png) < want_png:
            out.append(f"{where}: {want_png} PNG outputs, {len(shown_png)} rendered (sizes {c['pngs']})")
        n_svg += len(shown_svg)
        n_png += len(shown_png)
        # A run's progress is one line rewritten in place: as rendered, each
        # run (its label) has one line, a progress state or its summary.
        for text in c.get("shown", []):
            n_runs += len(SUMMARY.findall(text))
            for label, n in split_progress(text).items():
                out.append(f"{where}: the progress of {label!r} is shown on {n} lines, not one")
    if n_svg < min_svg:
        out.append(f"{n_svg} SVG figures rendered, at least {min_svg} required")
    if n_png < min_png:
        out.append(f"{n_png} PNG figures rendered, at least {min_png} required")
    return out, n_svg, n_png, n_runs


def screenshots(driver, out_dir, name):
    """The whole notebook (window as tall as the notebook) and its figures cropped."""
    from selenium.webdriver.common.by import By

    driver.execute_script("window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight();")
    time.sleep(1)
    # The notebook scrolls inside its panel: its full height is the scroll height
    # of the panel's scroller, plus the menus and toolbars above it.
    h = driver.execute_script(
        "const sc = document.querySelector('.jp-NotebookPanel-notebook .jp-WindowedPanel-outer')"
        " || document.querySelector('.jp-NotebookPanel-notebook');"
        "if (!sc) return document.body.scrollHeight;"
        "return sc.scrollHeight + sc.getBoundingClientRect().top + 60;"
    )
    # A viewport as tall as the notebook: JupyterLab lays every cell out in view.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1400, "height": min(int(h), 16000), "deviceScaleFactor": 1, "mobile": False})
    time.sleep(2)
    # Run All leaves the last cell active and the notebook scrolled to it: back to the top.
    driver.execute_script(
        "const w = window.jupyterapp.shell.currentWidget; if (w && w.content) w.content.activeCellIndex = 0;"
        "document.querySelectorAll('.jp-NotebookPanel-notebook, .jp-WindowedPanel-outer')"
        ".forEach(e => { e.scrollTop = 0; });"
    )
    time.sleep(1.5)
    full = os.path.join(out_dir, f"{name}.png")
    driver.save_screenshot(full)
    figures = driver.find_elements(
        By.CSS_SELECTOR, ".jp-Cell-outputArea .jp-RenderedSVG, .jp-Cell-outputArea .jp-RenderedImage"
    )
    crop = None
    if figures:
        r = driver.execute_script(
            "const es = arguments[0].map(e => e.getBoundingClientRect());"
            "return [Math.min(...es.map(r => r.left)), Math.min(...es.map(r => r.top)),"
            " Math.max(...es.map(r => r.right)), Math.max(...es.map(r => r.bottom)), window.devicePixelRatio];",
            figures,
        )
        try:
            from PIL import Image

            with Image.open(full) as im:
                s = r[4]
                box = (max(0, int(r[0] * s) - 10), max(0, int(r[1] * s) - 10),
                       min(im.width, int(r[2] * s) + 10), min(im.height, int(r[3] * s) + 10))
                crop = os.path.join(out_dir, f"{name}-figures.png")
                im.crop(box).save(crop)
        except ImportError:
            pass
    return full, crop


def main(argv):
    args = list(argv[1:])
    if "-h" in args or "--help" in args:
        print(__doc__)
        return 0
    out_dir = arg(args, "--out", os.path.join(ROOT, "runs/browser-check"))
    min_svg = arg(args, "--min-svg", 3)
    min_png = arg(args, "--min-png", 1)
    timeout = arg(args, "--timeout", 1800)
    nb = args[0] if args else "notebooks/00-quickstart.ipynb"
    nb_abs = os.path.abspath(nb)
    rel = os.path.relpath(nb_abs, ROOT)
    if rel.startswith(".."):
        raise SystemExit(f"error: {nb} is not inside {ROOT}")
    name = os.path.splitext(os.path.basename(nb))[0]
    os.makedirs(out_dir, exist_ok=True)
    before = sha(nb_abs)
    # JupyterLab checkpoints the notebook when it opens it: remove what it made.
    checkpoints = os.path.join(os.path.dirname(nb_abs), ".ipynb_checkpoints")
    had_checkpoints = os.path.exists(checkpoints)
    env = dict(os.environ)
    env.setdefault("WGFLOW_QUICK", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["WGFLOW_ABORT_ON_PANIC"] = "1"
    t0 = time.monotonic()
    times = {}
    tmp = tempfile.mkdtemp(prefix="wgflow-browser-")
    port, token = free_port(), os.urandom(16).hex()
    lab, lab_log = start_lab(port, token, tmp, env)
    driver = None
    result = {"notebook": rel, "port": port, "ok": False}
    try:
        times["lab_ready"] = time.monotonic() - t0
        driver = browser(tmp, 1400, 1000)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/{rel}?token={token}")
        # The notebook open with its kernel started (evcxr's start-up files done).
        wait(driver, "notebook open with an idle kernel",
             lambda s: s.get("ready") and s.get("kernel") and s.get("status") == "idle", 900)
        times["kernel_ready"] = time.monotonic() - t0
        # The committed outputs away first (their execution counts would look like a run).
        driver.execute_script("return window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');")
        wait(driver, "outputs cleared", lambda s: all(c["count"] is None and not c["outputs"] for c in s["cells"]), 30)
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
        time.sleep(2)
        # Done when the kernel is idle with nothing queued and every cell ran, or a
        # cell failed (JupyterLab then stops the run), or the kernel died.
        seen = {"states": {}, "split": set()}
        state = wait(driver, "all cells run",
                     lambda s: s.get("ready") and (s["status"] == "dead" or (
                         s["status"] == "idle" and not s["pending"] and (
                             all(c["count"] is not None for c in s["cells"])
                             or any(o["type"] == "error" for c in s["cells"] for o in c["outputs"])))),
                     timeout, every=1.0, seen=seen)
        time.sleep(3)  # late output (evcxr forwards stderr after the idle status) and layout
        state = driver.execute_script(STATE_JS)
        times["run_all"] = time.monotonic() - t0 - times["kernel_ready"]
        bad, n_svg, n_png, n_runs = problems(state, min_svg, min_png)
        for label in sorted(seen["split"]):
            bad.append(f"the progress of {label!r} showed on more than one line while it ran")
        live = {label: len(lines) for label, lines in seen["states"].items()}
        full, crop = screenshots(driver, out_dir, name)
        if sha(nb_abs) != before:
            bad.append(f"{rel} changed on disk during the check")
        result.update(ok=not bad, problems=bad, svg=n_svg, png=n_png, progress_lines=n_runs, cells=len(state["cells"]),
                      progress_states_seen=live,
                      shown_stdout={c["index"]: c["shown"] for c in state["cells"] if c.get("shown")},
                      screenshot=os.path.relpath(full, ROOT), figures=crop and os.path.relpath(crop, ROOT))
    except TimeoutError as e:
        bad = [str(e)]
        result.update(problems=bad)
        if driver:
            p = os.path.join(out_dir, f"{name}-timeout.png")
            driver.save_screenshot(p)
            result["screenshot"] = os.path.relpath(p, ROOT)
    finally:
        if driver:
            driver.quit()
        lab.terminate()
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            lab.kill()
    if not had_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)
    times["total"] = time.monotonic() - t0
    result["seconds"] = {k: round(v, 1) for k, v in times.items()}
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    if result["ok"]:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"ok   {rel} in JupyterLab/Chromium: {result['cells']} code cells, {result['svg']} SVG and "
              f"{result['png']} PNG figures rendered, {result['progress_lines']} training runs ended on one summary line each "
              f"(states seen while running: {result.get('progress_states_seen')}), "
              f"no errors ({times['total']:.0f} s: lab "
              f"{times['lab_ready']:.0f} s, kernel {times['kernel_ready'] - times['lab_ready']:.0f} s, "
              f"run all {times.get('run_all', 0):.0f} s); screenshot {result['screenshot']}")
        return 0
    print(f"FAIL {rel} in JupyterLab/Chromium ({times['total']:.0f} s; server log {lab_log})")
    for b in result.get("problems", []):
        print(f"  {b}")
    if result.get("screenshot"):
        print(f"  screenshot {result['screenshot']}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
