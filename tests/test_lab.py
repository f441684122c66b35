"""``make lab`` and the notebooks' figures: what can be checked without a browser.

* ``plots.figure_path`` in full mode writes to a git-ignored folder (``my_notebooks/figures``) or to the folder
  named by ``$DREAMER_EDU_FIGURES``, never into the committed ``figures/`` unless asked; quick mode keeps the
  temporary folder;
* ``make lab`` prepares the working copies with ``lab/prepare.py``, finds ``lab/labconfig/page_config.json``
  through ``JUPYTER_CONFIG_PATH`` (the news pop-up off) and opens JupyterLab on the copies only;
* ``lab/prepare.py`` copies what is missing, never overwrites a copy, and trusts the copies without outputs;
* ``make figures`` runs the notebooks in full mode with the committed ``figures/`` as target, without writing
  into the notebooks.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dreamer_edu.viz import plots

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "lab"
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def _git_ignored(path: Path) -> bool:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git repository")
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


def _make_dry_run(target: str, *variables: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("no make")
    result = subprocess.run(["make", "-n", target, *variables], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _load_prepare():
    spec = importlib.util.spec_from_file_location("lab_prepare", LAB / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- figure_path -----------------------------------------------------------------------------------------------
def test_full_mode_default_is_a_git_ignored_folder_not_the_committed_figures(monkeypatch):
    monkeypatch.delenv(plots.FIGURES_ENV, raising=False)
    folder = plots.figures_dir()
    assert folder == ROOT / plots.MY_NOTEBOOKS / "figures"
    assert folder.resolve() != (ROOT / "figures").resolve()
    assert ROOT / "figures" not in folder.parents
    assert _git_ignored(folder / "00_hockey_env_rink.png")
    assert not _git_ignored(ROOT / "figures" / "00_hockey_env_rink.png")     # the committed ones stay tracked


def test_full_mode_honours_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(plots.FIGURES_ENV, str(tmp_path / "mine"))
    path = plots.figure_path("05_two_hot_symlog", "twohot_of_10", quick=False)
    assert path == tmp_path / "mine" / "05_two_hot_symlog_twohot_of_10.png"
    assert path.parent.is_dir()                           # figure_path creates the folder


def test_a_relative_environment_variable_counts_from_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(plots.FIGURES_ENV, "out")
    assert plots.figure_path("08_full_training", "diagnostics", quick=False).resolve() == \
        (tmp_path / "out" / "08_full_training_diagnostics.png").resolve()


@pytest.mark.parametrize("variable", [None, "somewhere"])
def test_quick_mode_keeps_the_temporary_folder(monkeypatch, variable):
    if variable is None:
        monkeypatch.delenv(plots.FIGURES_ENV, raising=False)
    else:
        monkeypatch.setenv(plots.FIGURES_ENV, variable)
    path = plots.figure_path("02_imagination", "rollouts", quick=True)
    assert path == Path(tempfile.gettempdir()) / "dreamer_edu_figures" / "02_imagination_rollouts.png"


# --- make lab --------------------------------------------------------------------------------------------------
def test_make_lab_prepares_the_copies_and_opens_only_them():
    commands = _make_dry_run("lab")
    assert f"lab/prepare.py notebooks {plots.MY_NOTEBOOKS}" in commands
    assert f'JUPYTER_CONFIG_PATH="{ROOT}/lab' in commands
    assert f"jupyter lab --ServerApp.root_dir={plots.MY_NOTEBOOKS}" in commands
    assert "jupyter lab notebooks" not in commands          # never on the committed notebooks and their pairs
    assert _git_ignored(ROOT / plots.MY_NOTEBOOKS / "00_hockey_env.ipynb")


def test_make_lab_passes_extra_options():
    assert "--no-browser --port=8899" in _make_dry_run("lab", "LAB_ARGS=--no-browser --port=8899")


def test_page_config_turns_the_news_popup_off():
    page_config = json.loads((LAB / "labconfig" / "page_config.json").read_text())
    assert page_config["disabledExtensions"] == {ANNOUNCEMENTS: True}


def test_jupyterlab_finds_the_page_config_through_jupyter_config_path():
    pytest.importorskip("jupyterlab_server")
    code = ("import json; from jupyterlab_server.config import get_static_page_config; "
            "print(json.dumps(get_static_page_config(level='all').get('disabledExtensions', {})))")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(LAB)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]).get(ANNOUNCEMENTS) is True


def _notebook(path: Path, outputs: bool = False) -> Path:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)")
    if outputs:
        cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
        cell.execution_count = 1
    nb.cells = [nbformat.v4.new_markdown_cell("# a notebook"), cell]
    nbformat.write(nb, path)
    return path


def test_prepare_copies_what_is_missing_and_never_overwrites(tmp_path):
    prepare = _load_prepare().prepare
    source, work = tmp_path / "notebooks", tmp_path / "my_notebooks"
    source.mkdir()
    _notebook(source / "00_a.ipynb")
    (source / "00_a.py").write_text("# the paired script: not copied\n")
    assert prepare(source, work, trust=False) == [work / "00_a.ipynb"]
    assert sorted(p.name for p in work.iterdir()) == ["00_a.ipynb"]

    mine = (work / "00_a.ipynb").read_text().replace("a notebook", "my notes")
    (work / "00_a.ipynb").write_text(mine)
    _notebook(source / "01_b.ipynb")                      # a new chapter arrives (git pull)
    assert prepare(source, work, trust=False) == [work / "01_b.ipynb"]
    assert (work / "00_a.ipynb").read_text() == mine      # the student's copy is kept


def test_prepare_trusts_the_copies_without_outputs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))   # a signature database of the test's own
    source, work = tmp_path / "notebooks", tmp_path / "my_notebooks"
    source.mkdir()
    _notebook(source / "00_a.ipynb")
    work.mkdir()
    _notebook(work / "99_from_elsewhere.ipynb", outputs=True)
    _load_prepare().prepare(source, work)
    notary = NotebookNotary()
    assert notary.check_signature(nbformat.read(work / "00_a.ipynb", as_version=4))
    assert not notary.check_signature(nbformat.read(work / "99_from_elsewhere.ipynb", as_version=4))


# --- make figures ----------------------------------------------------------------------------------------------
def test_make_figures_runs_the_notebooks_in_full_mode_into_figures_without_touching_them():
    commands = _make_dry_run("figures")
    assert "DREAMER_EDU_QUICK=0" in commands
    assert f'{plots.FIGURES_ENV}="{ROOT}/figures"' in commands
    assert "nbconvert --to notebook --execute" in commands and "--output-dir build/figure-runs" in commands
    assert "--inplace" not in commands
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"notebooks/{notebook.name}" in commands
    assert _git_ignored(ROOT / "build" / "figure-runs" / "00_hockey_env.ipynb")
