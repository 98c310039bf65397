"""The documentation site builds with ``mkdocs build --strict`` and no warning, its API
reference, generated from the docstrings, documents every public module, the tutorials
are rendered (as committed, not run), the figures are small and shown, and wide code
blocks scroll."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rockpool_dynapse2"

# API page -> names its HTML must show.
API_PAGES = {
    "package": ["rockpool_dynapse2", "DynapSimJax"],
    "chip": ["CircuitConstants", "ChipGeometry", "BIAS_PARAMETERS"],
    "errors": ["ParameterValueError", "SamnaNotAvailableError", "Dynapse2DRCError"],
    "parameters": ["itau_from_tau", "code_from_current", "BiasCode", "CoreParameters"],
    "simulation": ["DynapSimJax", "DynapSimTorch", "DynapParams", "membrane_step", "Dynapse2Neurons"],
    "transform": ["quantize_weights", "quantize_ste", "monte_carlo", "mismatch_T_config"],
    "mapping": ["mapper", "NetworkSpec", "quantize_spec", "map_and_calibrate", "migrate", "MigrationReport"],
    "config": ["config_from_specification", "MappedConfiguration", "Configuration", "Dynapse2DRCError"],
    "hardware": ["DynapseSamna", "VirtualBoard", "SamnaBoard", "samna_status"],
    "twin": ["probe", "ProbeProtocol", "ProbeRecordings", "find_defects", "effective_quantities", "fit_twin", "Twin",
             "run_chip", "ChipOutcome", "run_study"],
    "tasks": ["frozen_noise", "rate_frequency"],
    "cli": ["main", "run_demo", "save_plots", "run_yield"],
}

GUIDE_PAGES = [
    "installation", "concepts", "differences", "parameters", "simulation", "transforms", "quantization",
    "mapping", "lif_conversion", "migration", "configuration", "deployment", "twin", "cli", "results", "benchmarks",
    "tutorials", "yield",
]
TUTORIALS = sorted(p.stem for p in (ROOT / "tutorials").glob("*.ipynb"))
FIGURES = ROOT / "docs" / "assets" / "demo"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    out_dir = tmp_path_factory.mktemp("docs") / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "WARNING" not in log, log
    return out_dir


def _html(site, page):
    path = site / page / "index.html"
    assert path.is_file(), f"{page} was not built"
    return path.read_text(encoding="utf-8")


def test_site_builds_strict_without_warnings(site):
    assert (site / "index.html").is_file()
    for page in GUIDE_PAGES:
        _html(site, page)


@pytest.mark.parametrize("page", sorted(API_PAGES))
def test_api_page_documents_its_names(site, page):
    html = _html(site, f"api/{page}")
    for name in API_PAGES[page]:
        assert name in html, f"api/{page} does not mention {name}"


def test_simulation_page_documents_both_modules(site):
    html = _html(site, "api/simulation")
    assert 'id="rockpool_dynapse2.simulation.jax_module.DynapSimJax"' in html
    assert 'id="rockpool_dynapse2.simulation.torch_module.DynapSimTorch"' in html


def _public_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(p.startswith("_") for p in parts):
            continue
        yield ".".join(parts)


def test_every_public_module_is_in_the_api_reference(site):
    """A new module needs a ``::: rockpool_dynapse2.<module>`` line in one of docs/api/*.md."""
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("index.html"))
    missing = [m for m in _public_modules() if f'id="{m}"' not in html]
    assert not missing, f"modules without an entry in docs/api/*.md: {missing}"


def test_api_reference_shows_no_private_names_and_no_raw_sphinx_roles(site):
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("index.html"))
    ids = re.findall(r'id="(rockpool_dynapse2[^"]*)"', html)
    private = [i for i in ids if any(part.startswith("_") and not part.startswith("__") for part in i.split("."))]
    assert not private, private
    roles = re.findall(r":(?:mod|class|func|meth|attr|data|exc|obj):<code>", html)
    roles += re.findall(r":(?:mod|class|func|meth|attr|data|exc|obj):`", html)
    assert not roles, roles[:5]


@pytest.mark.parametrize("name", TUTORIALS)
def test_every_tutorial_is_rendered_with_its_code(site, name):
    """Each notebook is a page of the site (mkdocs-jupyter, not executed), with the longest
    name of its code in it, and the notebook itself offered for download."""
    html = _html(site, f"tutorials/{name}")
    cells = json.loads((ROOT / "tutorials" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    longest = max(re.findall(r"[A-Za-z_]\w*", code), key=len)
    assert longest in html, longest
    assert (site / "tutorials" / name / f"{name}.ipynb").is_file()
    assert name in _html(site, "tutorials")


def test_figures_are_small_and_every_one_is_shown(site):
    pngs = sorted(FIGURES.glob("*.png"))
    assert len(pngs) == 4, pngs
    for png in pngs:
        assert png.stat().st_size < 200_000, f"{png.name}: {png.stat().st_size} bytes"
        assert (site / "assets" / "demo" / png.name).is_file()
    shown = _html(site, "cli")
    assert all(f"assets/demo/{png.name}" in shown for png in pngs)
    assert "tools/make_doc_figures.py" in shown


def test_wide_code_blocks_scroll(site):
    css = (site / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    assert re.search(r"\.rst-content pre code[^{]*\{[^}]*overflow-x:\s*auto", css, re.S), css
    assert "stylesheets/extra.css" in (site / "index.html").read_text(encoding="utf-8")
