"""Extract the DYNAP-SE2 bias generator's measured table from Rockpool 3.1.

Writes ``rockpool_dynapse2/data/biasgen_se2.npz``: for each transistor type ("N", "P")
an array of shape (6, 256), the current in amperes for every (coarse, fine) code, before
the per-parameter scale factor. The table was measured by the chip's makers and ships
with Rockpool (``rockpool.devices.dynapse.lookup.paramgen.paramgen_se2``); this script
only changes its format. Run it from the repository root::

    python tools/extract_biasgen_table.py
"""

import importlib.util
import pathlib

import numpy as np

import rockpool

path = pathlib.Path(rockpool.__file__).parent / "devices/dynapse/lookup/paramgen.py"
# Load the table file on its own: importing rockpool.devices.dynapse would log warnings
# about samna and pull in the whole device package.
spec = importlib.util.spec_from_file_location("_paramgen", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
table = module.paramgen_se2

out = pathlib.Path(__file__).resolve().parent.parent / "rockpool_dynapse2/data/biasgen_se2.npz"
np.savez_compressed(
    out,
    N=np.array([table["N"][c] for c in range(6)], dtype=np.float64),
    P=np.array([table["P"][c] for c in range(6)], dtype=np.float64),
    provenance=np.array(
        f"DYNAP-SE2 bias generator currents (A) per (coarse, fine) code, from Rockpool "
        f"{rockpool.__version__} rockpool/devices/dynapse/lookup/paramgen.py (paramgen_se2)"
    ),
)
print(f"wrote {out}")
