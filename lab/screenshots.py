"""Run the notebooks in JupyterLab, in a headless Chromium, as a student would, and take screenshots.

``make screenshots`` runs ``python lab/screenshots.py``. For each notebook it

* copies ``notebooks/*.ipynb`` into a temporary folder (``notebooks/`` is never run in place) and starts a
  JupyterLab server on that copy, on a free port with a random token, in quick mode (``DREAMER_EDU_QUICK=1``),
  with figures written to the output folder (``DREAMER_EDU_FIGURES``) rather than to ``figures/``;
* opens the notebook in headless Chromium (driven by playwright), runs all cells and waits until every cell has
  finished;
* moves each slider of the explorers (ipywidgets) with the keyboard and checks that the figure is redrawn;
* saves screenshots of the whole notebook, page by page, to ``OUT/<notebook>/NN.png`` (the explorers after
  their sliders moved to ``OUT/<notebook>/explorer-N.png``) and a short report to ``OUT/<notebook>/report.txt``.

The exit code is 1 when a notebook shows an error, a traceback or a warning (anything on stderr), when a cell
did not finish in time, or when a slider does not redraw its figure.

    python lab/screenshots.py                                   # all notebooks, to build/screenshots/
    python lab/screenshots.py --notebooks 03 05_two_hot         # the notebooks whose names contain these
    python lab/screenshots.py --out /tmp/shots --chromium /usr/bin/chromium
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1400, "height": 1000}

# JupyterLab settings for the run: render every cell (no virtual scrolling, so that the whole notebook can be
# scrolled through and its outputs read), and no autosave that would rewrite the temporary copy mid-run.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

# JavaScript run in the page; `window.jupyterapp` is there because of --LabApp.expose_app_in_browser.
JS_PANEL = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;" \
           " return !!(w && w.content && w.content.model && w.sessionContext); }"
JS_KERNEL_STATUS = """() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;
    return s && s.session && s.session.kernel ? s.session.kernel.status : 'none'; }"""
JS_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.widgets;
    let running = 0, code = 0, executed = 0;
    for (const cell of cells) {
        if (cell.model.type !== 'code') continue;
        code += 1;
        const prompt = cell.node.querySelector('.jp-InputPrompt');
        if (prompt && prompt.textContent.includes('*')) running += 1;
        if (cell.model.executionCount) executed += 1;
    }
    return {running, code, executed, cells: cells.length};
}"""
JS_OUTPUTS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const out = [];
    panel.content.widgets.forEach((cell, i) => {
        if (cell.model.type !== 'code') return;
        const outputs = cell.model.outputs.toJSON();
        out.push({index: i, execution_count: cell.model.executionCount,
                  source: cell.model.sharedModel.getSource().split('\\n')[0], outputs});
    });
    return out;
}"""
# The explorers: an ipywidgets `interactive` is a .widget-interact box holding its sliders and an Output widget.
JS_EXPLORER_OUTPUT = """(args) => {
    const box = document.querySelectorAll('.widget-interact')[args.i];
    const out = box.querySelector('.widget-output');
    return out ? out.innerHTML.length + ':' + out.innerHTML.slice(-3000) : '';
}"""
# Mark the explorer's current output nodes; a redraw replaces them (even when the new figure looks the same).
JS_MARK_OUTPUT = """(args) => {
    const box = document.querySelectorAll('.widget-interact')[args.i];
    box.querySelectorAll('.widget-output .jp-OutputArea-output').forEach(e => { e.dataset.shot = 'old'; });
}"""
JS_REDRAWN = """(args) => {
    const box = document.querySelectorAll('.widget-interact')[args.i];
    const outs = Array.from(box.querySelectorAll('.widget-output .jp-OutputArea-output'));
    return outs.length > 0 && outs.some(e => e.dataset.shot !== 'old');
}"""


def need(what: str, how: str):
    raise SystemExit(f"screenshots: {what} is missing; install it with: {how}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, work: Path, port: int, token: str, figures: Path, log) -> subprocess.Popen:
    settings = work / "settings"
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)                  # the kernel's inline backend, as in a student's JupyterLab
    env.update({
        "DREAMER_EDU_QUICK": "1", "SDL_VIDEODRIVER": "dummy", "DREAMER_EDU_FIGURES": str(figures),
        "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "JUPYTER_CONFIG_PATH": str(ROOT / "lab") + (os.pathsep + env["JUPYTER_CONFIG_PATH"]
                                                    if env.get("JUPYTER_CONFIG_PATH") else ""),
    })
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
               "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")                  # containers often run as root
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    deadline = time.time() + 120
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"screenshots: JupyterLab exited (code {server.returncode}); see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"screenshots: JupyterLab did not start within 2 minutes; see {log.name}")


def problems_in(outputs: list[dict]) -> list[str]:
    """Error tracebacks and stderr text (warnings) in the cells' outputs, one line each."""
    found = []
    for cell in outputs:
        for output in cell["outputs"]:
            kind = output.get("output_type")
            if kind == "error":
                found.append(f"cell {cell['index']} ({cell['source'][:50]!r}): ERROR "
                             f"{output.get('ename')}: {output.get('evalue')}")
            elif kind == "stream" and output.get("name") == "stderr":
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                first = text.strip().splitlines()[:3]
                found.append(f"cell {cell['index']} ({cell['source'][:50]!r}): STDERR " + " | ".join(first))
            elif "application/vnd.jupyter.stderr" in output.get("data", {}):
                found.append(f"cell {cell['index']} ({cell['source'][:50]!r}): STDERR output")
    return found


def wait_until_finished(page, timeout: float) -> dict:
    """Wait until no cell shows [*] and the kernel is idle (twice in a row, a second apart)."""
    deadline = time.time() + timeout
    calm = 0
    state = {}
    while time.time() < deadline:
        state = page.evaluate(JS_STATE)
        status = page.evaluate(JS_KERNEL_STATUS)
        if state["running"] == 0 and status == "idle" and state["executed"] > 0:
            calm += 1
            if calm >= 2:
                return {**state, "finished": True}
        else:
            calm = 0
        page.wait_for_timeout(1000)
    return {**state, "finished": False}


def scroll_screenshots(page, folder: Path, prefix: str = "") -> int:
    """Scroll the notebook from top to bottom, one screen at a time (with some overlap), saving each screen."""
    scroller = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"
    page.eval_on_selector(scroller, "e => e.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    height = page.eval_on_selector(scroller, "e => e.scrollHeight")
    view = page.eval_on_selector(scroller, "e => e.clientHeight")
    step = max(200, int(view * 0.9))
    n, top = 0, 0
    while True:
        page.eval_on_selector(scroller, f"e => e.scrollTo(0, {top})")
        page.wait_for_timeout(250)
        n += 1
        page.screenshot(path=str(folder / f"{prefix}{n:02d}.png"))
        if top + view >= height:
            return n
        top += step


def move_sliders(page, folder: Path, timeout: float) -> list[dict]:
    """Move every slider of every explorer two steps right with the keyboard; did the explorer redraw?"""
    results = []
    boxes = page.locator(".widget-interact")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        handles = box.locator(".widget-slider .noUi-handle")
        labels = box.locator(".widget-slider")
        for j in range(handles.count()):
            name = labels.nth(j).locator(".widget-label").first.inner_text().strip() or f"slider {j}"
            readout = labels.nth(j).locator(".widget-readout")
            before_value = readout.inner_text().strip() if readout.count() else "?"
            before = page.evaluate(JS_EXPLORER_OUTPUT, {"i": i})
            page.evaluate(JS_MARK_OUTPUT, {"i": i})
            handle = handles.nth(j)
            handle.focus()
            key = "ArrowRight"
            # at the right end already: move left instead
            if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax"):
                key = "ArrowLeft"
            for _ in range(2):
                handle.press(key)
                page.wait_for_timeout(100)
            after_value = readout.inner_text().strip() if readout.count() else "?"
            redrawn, deadline = False, time.time() + timeout
            while time.time() < deadline:
                page.wait_for_timeout(500)
                if page.evaluate(JS_KERNEL_STATUS) == "idle" and page.evaluate(JS_REDRAWN, {"i": i}):
                    redrawn = True
                    page.wait_for_timeout(500)
                    break
            changed = page.evaluate(JS_EXPLORER_OUTPUT, {"i": i}) != before
            results.append({"explorer": i + 1, "slider": name, "from": before_value, "to": after_value,
                            "moved": after_value != before_value, "redrawn": redrawn, "changed": changed})
        page.wait_for_timeout(500)
        box.scroll_into_view_if_needed()
        box.screenshot(path=str(folder / f"explorer-{i + 1}.png"))
    return results


def run_notebook(browser, base: str, token: str, name: str, folder: Path, timeout: float) -> tuple[bool, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    page = browser.new_page(viewport=VIEWPORT)
    console_errors = []
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    start = time.time()
    lines = [f"notebook: {name}"]
    try:
        page.goto(f"{base}/lab/tree/{name}?token={token}&reset", wait_until="domcontentloaded")
        page.wait_for_function(JS_PANEL, timeout=120_000)
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.isReady",
                               timeout=120_000)
        page.wait_for_function(f"() => ({JS_KERNEL_STATUS})() === 'idle'", timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_timeout(2000)
        state = wait_until_finished(page, timeout)
        elapsed = time.time() - start
        lines.append(f"cells: {state['cells']} ({state['code']} code, {state['executed']} run); "
                     f"{'all finished' if state['finished'] else 'NOT FINISHED'} after {elapsed:.0f} s")
        page.wait_for_timeout(1500)                          # let the last figures and widgets render
        problems = problems_in(page.evaluate(JS_OUTPUTS))
        if not state["finished"]:
            problems.append(f"cells still running after {timeout:.0f} s")
        pages = scroll_screenshots(page, folder)
        sliders = move_sliders(page, folder, timeout=60)
        lines.append(f"screenshots: {pages} pages, {len({s['explorer'] for s in sliders})} explorer(s)")
        lines.append(f"sliders: {len(sliders)} found, {sum(s['moved'] for s in sliders)} moved, "
                     f"{sum(s['redrawn'] for s in sliders)} redrawn")
        for s in sliders:
            lines.append(f"  explorer {s['explorer']} {s['slider']}: {s['from']} -> {s['to']}: "
                         f"{'redrawn' if s['redrawn'] else 'NOT REDRAWN'}"
                         f"{'' if not s['redrawn'] else ', figure changed' if s['changed'] else ', same figure'}")
            if not (s["moved"] and s["redrawn"]):
                problems.append(f"explorer {s['explorer']} slider {s['slider']!r} "
                                f"{'did not redraw' if s['moved'] else 'did not move'}")
        # the sliders may have printed warnings too
        problems = list(dict.fromkeys(problems + problems_in(page.evaluate(JS_OUTPUTS))))
    except Exception as e:                                   # noqa: BLE001 - report and go on with the next
        problems = [f"screenshot run failed: {type(e).__name__}: {e}".splitlines()[0]]
        try:
            page.screenshot(path=str(folder / "failure.png"))
        except Exception:                                    # noqa: BLE001
            pass
    finally:
        try:
            page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
            page.wait_for_timeout(500)
        except Exception:                                    # noqa: BLE001
            pass
        page.close()
    lines += [f"browser errors: {len(console_errors)}"] + [f"  {e[:200]}" for e in console_errors]
    lines.append(f"problems: {len(problems)}")
    lines += [f"  {p}" for p in problems]
    report = "\n".join(lines) + "\n"
    (folder / "report.txt").write_text(report)
    return not problems, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "screenshots"), help="output folder")
    parser.add_argument("--notebooks", nargs="*", default=[],
                        help="run only the notebooks whose file names contain one of these (default: all)")
    parser.add_argument("--chromium", default=None, help="the Chromium to drive (default: chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds each notebook may run (600)")
    args = parser.parse_args(argv)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright (Python package)", f"{sys.executable} -m pip install playwright")
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not Path(chromium).exists():
        need("Chromium", "apt install chromium (or pass --chromium PATH)")

    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")
                       if not args.notebooks or any(k in p.name for k in args.notebooks))
    if not notebooks:
        raise SystemExit(f"screenshots: no notebook matches {args.notebooks}")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    sys.path.insert(0, str(ROOT / "lab"))
    from prepare import prepare

    ok_all, started = True, time.time()
    with tempfile.TemporaryDirectory(prefix="dreamer-edu-screens-") as tmp:
        work = Path(tmp)
        root = work / "notebooks"
        source = work / "source"
        source.mkdir()
        for name in notebooks:
            shutil.copyfile(ROOT / "notebooks" / name, source / name)
        prepare(source, root)                                # copies, trusted as in `make lab`
        port, token = free_port(), secrets.token_hex(16)
        log_path = out / "jupyterlab.log"
        with open(log_path, "w") as log:
            server = start_lab(root, work, port, token, out / "figures", log)
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=chromium, headless=True)
                    for name in notebooks:
                        print(f"{name}: running ...", flush=True)
                        ok, report = run_notebook(browser, f"http://127.0.0.1:{port}", token, name,
                                                  out / Path(name).stem, args.timeout)
                        ok_all &= ok
                        print(report, flush=True)
                    browser.close()
            finally:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
    print(f"{'all clean' if ok_all else 'PROBLEMS FOUND'}: {len(notebooks)} notebook(s) in "
          f"{time.time() - started:.0f} s; screenshots and reports in {out}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
