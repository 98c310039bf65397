"""Make the documentation site's figures: the demo's four plots from a short run.

Runs ``rockpool-dynapse2 demo --quick`` (JAX, seed 0: the same training as the default
demo, 16 simulated chips per mismatch level, 20 test samples on the virtual board)
without writing configurations, and writes its plots, reduced to a palette so that each
stays under 200 kB, to ``docs/assets/demo/``. Run it from the repository root::

    python tools/make_doc_figures.py

It takes a few minutes of CPU time; the numbers in the plots are one seed's.
"""

import pathlib
import sys
import tempfile

from PIL import Image

from rockpool_dynapse2.app.demo import DemoSettings, run_demo

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "assets" / "demo"
PLOTS = ("raster.png", "accuracy.png", "mismatch.png", "training.png")
MAX_BYTES = 200_000


def main() -> int:
    settings = DemoSettings.preset("quick", write_configs=False)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run_demo(settings, pathlib.Path(tmp), epoch_summaries=False)
        for name in PLOTS:
            image = Image.open(pathlib.Path(tmp) / name).convert("RGB")
            image.quantize(colors=64).save(OUT / name, optimize=True)
    sizes = {name: (OUT / name).stat().st_size for name in PLOTS}
    for name, size in sizes.items():
        print(f"{OUT.relative_to(ROOT) / name}: {size / 1000:.0f} kB")
    too_big = [name for name, size in sizes.items() if size > MAX_BYTES]
    if too_big:
        print(f"over {MAX_BYTES // 1000} kB: {too_big}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
