"""Checks of the committed notebooks' form (their content is run by ``pytest --nbval-lax notebooks``).

For every ``notebooks/*.ipynb``: a paired jupytext ``py:percent`` script exists and holds the same cells, the
notebook is committed with outputs cleared and without saved widget state, its kernel is ``python3``, and it
follows the conventions of the notebooks (``notebook_setup()`` in the first code cell, no machine paths).
"""
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# an absolute path into a user's or a build machine's folders (a notebook must only use relative paths)
MACHINE_PATH = re.compile(r"(/(?:work|home|root|Users)/|[A-Za-z]:\\\\)")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook_path(request):
    return request.param


def test_paired_script_exists_and_matches(notebook_path):
    script = notebook_path.with_suffix(".py")
    assert script.exists(), f"{notebook_path.name} has no paired {script.name} (jupytext --sync {notebook_path.name})"
    ipynb_cells = _cells(jupytext.read(notebook_path))
    script_cells = _cells(jupytext.read(script))
    assert len(ipynb_cells) == len(script_cells), (
        f"{notebook_path.name}: {len(ipynb_cells)} cells, {script.name}: {len(script_cells)}; run jupytext --sync")
    for i, (a, b) in enumerate(zip(ipynb_cells, script_cells)):
        assert a == b, f"{notebook_path.name} and {script.name} differ in cell {i}; run jupytext --sync"


def test_outputs_cleared(notebook_path):
    notebook = jupytext.read(notebook_path)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{notebook_path.name}: cell {i} has saved outputs"
            assert cell.get("execution_count") is None, f"{notebook_path.name}: cell {i} has an execution count"


def test_no_saved_widget_state(notebook_path):
    notebook = jupytext.read(notebook_path)
    assert "widgets" not in notebook.metadata, f"{notebook_path.name} saves widget state in its metadata"
    for i, cell in enumerate(notebook.cells):
        assert "widgets" not in cell.get("metadata", {}), f"{notebook_path.name}: cell {i} saves widget state"


def test_kernel_is_python3(notebook_path):
    kernelspec = jupytext.read(notebook_path).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{notebook_path.name}: kernel {kernelspec.get('name')!r}"


def test_conventions(notebook_path):
    notebook = jupytext.read(notebook_path)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{notebook_path.name} has no code"
    first = code[0]
    assert "dreamer_edu" in first, f"{notebook_path.name}: the first code cell should import from dreamer_edu"
    assert "notebook_setup()" in first, (f"{notebook_path.name}: the first code cell should call notebook_setup() "
                                         "(quick flag, seeds, thread policy, device)")
    for i, cell in enumerate(notebook.cells):
        assert not MACHINE_PATH.search(cell.source), f"{notebook_path.name}: cell {i} names a machine path"


def test_notebook_setup_reads_the_flag_seeds_and_uses_one_thread(monkeypatch):
    import numpy as np
    import torch

    from dreamer_edu.viz.setup import notebook_setup

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setenv("DREAMER_EDU_QUICK", "1")
        quick, device = notebook_setup(seed=3)
        first = (torch.rand(2), np.random.rand(2))
        assert quick is True and torch.get_num_threads() == 1 and device.type in ("cpu", "cuda")
        monkeypatch.setenv("DREAMER_EDU_QUICK", "0")
        quick, _ = notebook_setup(seed=3)
        assert quick is False
        assert torch.equal(torch.rand(2), first[0]) and np.array_equal(np.random.rand(2), first[1])   # re-seeded
    finally:
        torch.set_num_threads(before)


CHAPTER_NOTEBOOKS = [p for p in NOTEBOOKS if p.name[:2] in {f"0{i}" for i in range(1, 8)}]
#: ``assert`` lines in the notebooks' code cells before the checks moved to tests/ (a third of it is the limit)
ASSERTS_BEFORE_THE_MOVE = 274


def _code(notebook_path):
    return "\n".join(c.source for c in jupytext.read(notebook_path).cells if c.cell_type == "code")


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=[p.name for p in CHAPTER_NOTEBOOKS])
def test_each_chapter_shows_its_code_and_asks_the_student_to_write_it(path):
    """The package's own source in a cell (``show_source``), then a stub the student fills in
    (``raise NotImplementedError``) and a ``check_function`` cell that compares it with the package."""
    code = _code(path)
    assert "show_source(" in code, f"{path.name} shows none of the package's code"
    assert "raise NotImplementedError" in code and "check_function(" in code, \
        f"{path.name} has no write-it-yourself exercise with a check"


def test_the_notebooks_keep_only_the_asserts_that_teach():
    count = sum(len(re.findall(r"^\s*assert\b", _code(p), flags=re.M)) for p in NOTEBOOKS)
    assert count <= ASSERTS_BEFORE_THE_MOVE // 3, f"{count} assert lines in the notebooks"
