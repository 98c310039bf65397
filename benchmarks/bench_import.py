"""How long ``import rockpool_dynapse2`` takes in a fresh interpreter (median of ``--runs``).

The suite checks that the import is quiet and never imports samna or Rockpool's DYNAP-SE2
package (``tests/test_packaging.py``); its speed is measured here, not asserted there.

    python benchmarks/bench_import.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import rockpool_dynapse2; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = [float(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout)
             for _ in range(args.runs)]
    print(f"import rockpool_dynapse2: median {statistics.median(times):.2f} s over {args.runs} runs "
          f"(min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
