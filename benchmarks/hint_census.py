"""What ``train``'s hints say on finished runs: every ``results.json`` under the folders
given, with today's :func:`~rockpool_dynapse2.app.train_pipeline.hints` (the yields
recomputed from each level's chips, for runs written before ``results.json`` had them).

For each run: float, the 30 % mean and yield, and the mismatch advice it gets now
(``calibrate``: each chip's readout calibration brings the level to both targets;
``longer``: it does not, so longer training, or injection after ``--no-injection``). Then
the check that a run gets mismatch advice exactly when it learnt its task and a level
misses the 30 % targets (mean >= 95 % of float, yield >= 90 %), and how many of those
runs had none in the ``results.json`` their own session wrote::

    python benchmarks/hint_census.py RUNS_DIR [RUNS_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

from rockpool_dynapse2.app.train_pipeline import chip_figures, learnt_little, results_hints, robust


def with_yields(results: Dict[str, Any]) -> Dict[str, Any]:
    """``results`` in today's terms, in place: a run written before session 22 has its
    ``float`` (then the unrounded latent values) as ``unrounded`` and its ``as_trained`` as
    ``float``; every mismatch level's yield is recomputed from its chips against that
    (:func:`chip_figures`; runs written before session 20 lack them)."""
    acc = results["accuracy"]
    if "as_trained" in acc:
        acc["unrounded"], acc["float"] = acc["float"], acc.pop("as_trained")
    for key in ("mismatch", "mismatch_calibrated"):
        for m in acc.get(key, {}).values():
            m.update({k: v for k, v in chip_figures(m["chips"], acc["float"]).items() if k.startswith("yield")})
    return results


def census(results: Dict[str, Any]) -> Tuple[List[str], bool, bool]:
    """One run: the kinds of its mismatch advice now (``calibrate`` or ``longer``), whether
    it learnt its task and misses a 30 % target at some level, and whether the hints its
    own session wrote had mismatch advice."""
    acc = with_yields(results)["accuracy"]
    lines = [h for h in results_hints(results) if "readout calibrat" in h]
    need = not learnt_little(acc, results["task"]["classes"]) and not all(robust(m, acc["float"]) for m in acc["mismatch"].values())
    had = any("mismatch" in h and "calibrat" in h for h in results.get("hints", []))
    return ["longer" if "does not bring" in h else "calibrate" for h in lines], need, had


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    needed = had_none = disagree = n = 0
    for path in sorted(p for folder in args.folders for p in folder.rglob("results.json")):
        results = json.loads(path.read_text())
        acc = results["accuracy"]
        if ("as_trained" not in acc and "unrounded" not in acc) or not acc.get("mismatch"):
            continue  # before session 14's as-trained stage
        kinds, need, had = census(results)
        m30 = acc["mismatch"].get("0.3", {})
        print(f"{str(path.parent):70s} float {acc['float']:.3f}  30 %: mean {m30.get('mean', float('nan')):.3f} "
              f"yield {m30.get('yield', float('nan')):.2f}  {kinds}")
        n, needed, disagree, had_none = n + 1, needed + need, disagree + (need != bool(kinds)), had_none + (need and not had)
    print(f"{n} runs; {needed} learnt their task and miss a target at some level; {disagree} where the advice does not "
          f"say so; {had_none} of the {needed} had no mismatch advice in their own results.json")


if __name__ == "__main__":
    main()
