"""The tutorials: committed without outputs, listed in their README, and every one runs.

Each notebook is executed with nbclient in a fresh ``python3`` kernel. The kernel must be
this interpreter (the environment the package is installed in), whatever kernelspecs the
machine has: a user-level ``python3`` kernelspec (``~/.local/share/jupyter/kernels``)
would otherwise take precedence over the environment's, and could point at another
Python. So the test writes a ``python3`` kernelspec running ``sys.executable`` into a
temporary directory and puts it first on ``JUPYTER_PATH``; nothing is installed
anywhere. The executed notebook checks that its kernel runs in ``sys.prefix``.
"""

import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


CELL_TIMEOUT = 300
"""nbclient's limit for one cell (s); a stuck cell fails instead of hanging the suite."""


def test_there_are_tutorials():
    assert len(NOTEBOOKS) >= 5, f"expected the five tutorials in {TUTORIALS}, found {IDS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name}: cell {i} has outputs; clear them before committing"
        assert cell.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"


def test_readme_lists_every_notebook_in_order():
    readme = (TUTORIALS / "README.md").read_text()
    missing = [p.name for p in NOTEBOOKS if p.name not in readme]
    assert not missing, f"tutorials/README.md does not list {missing}"
    positions = [readme.index(p.name) for p in NOTEBOOKS]
    assert positions == sorted(positions), "tutorials/README.md lists the notebooks out of order"


@pytest.fixture
def this_python_kernel(tmp_path, monkeypatch):
    """A ``python3`` kernelspec that runs this interpreter, first on ``JUPYTER_PATH``."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (this environment)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    paths = [str(tmp_path / "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(paths))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no display; figures are still drawn
    return "python3"


def _kernel_check_cell():
    from nbformat.v4 import new_code_cell

    expected = sys.prefix
    code = f"import sys\nassert sys.prefix == {expected!r}, 'the kernel runs in ' + sys.prefix + ', not ' + {expected!r}"
    return new_code_cell(code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, tmp_path, this_python_kernel):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(str(path), as_version=4)
    nb.cells.insert(0, _kernel_check_cell())
    workdir = tmp_path / "run"
    workdir.mkdir()
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=this_python_kernel,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    print(f"{path.name}: {seconds:.0f} s")  # measured, not asserted: a busy machine is slower
