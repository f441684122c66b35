"""Get your own copies of the notebooks ready for ``make lab``.

``make lab`` runs ``python lab/prepare.py notebooks my_notebooks`` and then opens JupyterLab on ``my_notebooks/``:

* each ``notebooks/NN_topic.ipynb`` is copied into ``my_notebooks/`` the first time, and never overwritten after
  that. Your edits, outputs and saved runs stay there (git ignores the folder) and the notebooks in
  ``notebooks/`` stay as they came. To start a notebook afresh, delete your copy and run ``make lab`` again;
* JupyterLab shows only this folder, and jupytext's pairing with ``.py`` scripts (set in the repository's
  ``jupytext.toml``) does not reach into it, so every notebook shows once in the file browser;
* copies without outputs are marked trusted, as ``jupyter trust`` would: they hold nothing to distrust yet, and
  JupyterLab keeps signing them when it saves your outputs.

``lab/labconfig/page_config.json`` (found through ``JUPYTER_CONFIG_PATH=lab``, which ``make lab`` sets) turns
off JupyterLab's pop-up about Jupyter news.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path


def has_outputs(notebook) -> bool:
    return any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def prepare(source: str | Path, dest: str | Path, trust: bool = True) -> list[Path]:
    """Copy the notebooks of ``source`` that ``dest`` does not hold yet, and trust the copies that have no
    outputs.  Returns the notebooks copied now."""
    source, dest = Path(source), Path(dest)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"{source}: no notebooks to copy")
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for notebook in notebooks:
        target = dest / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
            copied.append(target)
    if trust:
        import nbformat
        from nbformat.sign import NotebookNotary

        notary = NotebookNotary()
        for path in sorted(dest.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            if not has_outputs(notebook) and not notary.check_signature(notebook):
                notary.sign(notebook)
    return copied


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python lab/prepare.py NOTEBOOKS_DIR WORK_DIR")
    copied = prepare(sys.argv[1], sys.argv[2])
    for path in copied:
        print(f"new copy: {path}")
    print(f"JupyterLab opens your copies in {sys.argv[2]}/ (delete one to get a fresh copy of it)")
