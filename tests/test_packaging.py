"""The package installs, imports cheaply and quietly, and CI runs the README's command."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = [b.strip() for b in blocks if "pytest" in b]
    assert len(commands) == 1, "the README must have exactly one bash block that runs pytest"
    return commands[0]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_test_command() in ci


def test_import_is_quiet_and_never_imports_samna():
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    import rockpool_dynapse2\n"
        "assert not w, [str(x.message) for x in w]\n"
        "assert 'samna' not in sys.modules\n"
        "assert 'rockpool.devices.dynapse' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""  # its speed: benchmarks/bench_import.py


def test_package_data_ships_the_bias_table():
    from rockpool_dynapse2.parameters import bias_table

    table = bias_table()
    assert "Rockpool" in table.provenance
    assert {t.value for t in table.currents} == {"N", "P"}


def test_readme_set_up_starts_with_the_demo_command_and_the_script_is_declared():
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set-up", 1)[1]
    blocks = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(blocks) >= 2
    first = blocks[0].strip()
    assert "pip install" in first and first.endswith("rockpool-dynapse2 demo")
    assert "pytest" in blocks[1]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'rockpool-dynapse2 = "rockpool_dynapse2.app.cli:main"' in pyproject
