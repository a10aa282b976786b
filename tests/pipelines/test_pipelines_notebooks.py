"""The notebooks run top to bottom with nbclient."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


# The notebooks replay what the default suite runs end to end (`run training`, `demo level2`).
@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_quickstart.ipynb", "02_level2_loop.ipynb"])
def test_notebook_executes(name, tmp_path, isolated_home):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(
        o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    )
    expected = {"01_quickstart.ipynb": ["succeeded: True", "blessed: True"],
                "02_level2_loop.ipynb": ["drift above threshold", "registered and promoted to champion",
                                         "champion changed: v1 -> v2"]}
    for text in expected[name]:
        assert text in outputs
    assert not list(tmp_path.glob("*.log")), "the notebook left a log file beside itself"
