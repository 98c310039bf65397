"""samna is detected without importing it; PyPI's installer stub is recognised and refused."""

import subprocess
import sys
import textwrap

import pytest

from rockpool_dynapse2.errors import SamnaNotAvailableError
from rockpool_dynapse2._samna.adapter import require_samna, samna_status

# The first lines of PyPI's samna 0.48.6 __init__.py (the stub runs pip when imported).
STUB = textwrap.dedent(
    '''
    import subprocess
    import sys
    PYPI_SAMNA = True  # a mark to indicate it's pypi samna
    open(__file__ + ".imported", "w").write("the stub was imported")
    raise SystemExit("the stub must never be imported")
    '''
)


def _run(code: str, path: str) -> subprocess.CompletedProcess:
    env_code = f"import sys; sys.path.insert(0, {path!r})\n" + code
    return subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True)


def test_status_agrees_with_the_import_system_without_importing():
    import importlib.util

    status = samna_status()
    assert status.installed == (importlib.util.find_spec("samna") is not None)
    if not status.real:
        with pytest.raises(SamnaNotAvailableError, match="samna"):
            require_samna()
        assert "samna" not in sys.modules


def test_the_pypi_stub_is_recognised_and_never_imported(tmp_path):
    pkg = tmp_path / "samna"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(STUB)
    code = textwrap.dedent(
        """
        from rockpool_dynapse2.errors import SamnaNotAvailableError
        from rockpool_dynapse2._samna.adapter import require_samna, samna_status
        import rockpool_dynapse2
        s = samna_status()
        assert s.installed and not s.real, s
        try:
            require_samna()
        except SamnaNotAvailableError as e:
            assert "stub" in str(e) and "SynSense" in str(e), e
        else:
            raise AssertionError("require_samna accepted the stub")
        import sys
        # Rockpool imports samna when it is imported: it must meet our shield, not the stub
        import rockpool
        from rockpool_dynapse2 import DynapSimJax
        import rockpool_dynapse2.hardware
        assert getattr(sys.modules["samna"], "PYPI_SAMNA", False)
        assert not hasattr(sys.modules["samna"], "dynapse2")
        print("ok")
        """
    )
    out = _run(code, str(tmp_path))
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.strip().endswith("ok")
    assert not (pkg / "__init__.py.imported").exists()


def test_a_compiled_samna_counts_as_real(tmp_path):
    pkg = tmp_path / "samna"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .samna import *\n")
    (pkg / "samna.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    out = _run(
        "from rockpool_dynapse2._samna.adapter import samna_status\n"
        "s = samna_status(); assert s.installed and s.real, s\n"
        "import sys; assert 'samna' not in sys.modules\nprint('ok')",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_with_the_real_pypi_stub_nothing_runs_pip(tmp_path):
    """Installs PyPI's samna (the installer stub) into a folder and uses our package beside it."""
    target = tmp_path / "site"
    got = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "samna==0.48.6"],
        capture_output=True,
        text=True,
    )
    if got.returncode != 0:
        pytest.skip(f"PyPI's samna could not be downloaded here: {got.stderr.strip()[-200:]}")
    assert "PYPI_SAMNA" in (target / "samna" / "__init__.py").read_text()
    code = textwrap.dedent(
        """
        import time, sys
        t = time.perf_counter()
        import rockpool_dynapse2
        import rockpool
        from rockpool_dynapse2 import DynapSimJax
        from rockpool_dynapse2.hardware import VirtualBoard
        from rockpool_dynapse2.errors import SamnaNotAvailableError
        from rockpool_dynapse2._samna.adapter import require_samna
        try:
            require_samna()
        except SamnaNotAvailableError as e:
            print("refused:", str(e)[:60])
        print("seconds", time.perf_counter() - t)
        """
    )
    out = _run(code, str(target))
    assert out.returncode == 0, out.stderr
    assert "refused: deployment to a DYNAP-SE2 board needs SynSense's samna" in out.stdout
    assert "pip" not in out.stderr.lower() and "Looking in indexes" not in out.stdout
