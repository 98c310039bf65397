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


# A stub that counts its own imports (one line per import) and fails as the real one does
# where SynSense's index cannot be reached; Rockpool's samna check swallows the failure.
COUNTING_STUB = textwrap.dedent(
    '''
    PYPI_SAMNA = True  # a mark to indicate it's pypi samna
    def install_real_samna():
        raise RuntimeError("pip install samna --index-url=... failed")
    open(__file__ + ".imports", "a").write("imported\\n")
    {tail}
    '''
)


def _stub(tmp_path, tail="install_real_samna()"):
    pkg = tmp_path / "samna"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(COUNTING_STUB.format(tail=tail))
    return pkg / "__init__.py.imports"


def _imports(marker) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_the_guard_holds_for_every_later_import_of_samna(tmp_path):
    """rockpool_dynapse2 first: a cleared ``sys.modules``, a reload, Rockpool's check: never the stub."""
    marker = _stub(tmp_path)
    code = textwrap.dedent(
        """
        import importlib, sys
        import rockpool_dynapse2
        import samna
        assert samna.PYPI_SAMNA and not hasattr(samna, "dynapse2")
        importlib.reload(samna)
        del sys.modules["samna"]
        import samna
        assert samna.PYPI_SAMNA
        from rockpool_dynapse2._samna.detect import samna_status
        s = samna_status()
        assert s.stub and not s.real, s
        print("ok")
        """
    )
    out = _run(code, str(tmp_path))
    assert out.returncode == 0, out.stderr + out.stdout
    assert _imports(marker) == 0


def test_with_rockpool_imported_first_the_stub_runs_once_and_never_again(tmp_path):
    """Rockpool first: its samna check runs the stub (nothing can stop that), the stub fails;
    once rockpool_dynapse2 is imported, no later import runs it a second time."""
    marker = _stub(tmp_path)
    code = textwrap.dedent(
        """
        import sys
        import rockpool
        assert "samna" not in sys.modules  # the stub failed; Rockpool's check swallowed it
        import rockpool_dynapse2
        from rockpool_dynapse2._samna.adapter import require_samna
        from rockpool_dynapse2.errors import SamnaNotAvailableError
        import samna
        assert samna.PYPI_SAMNA
        try:
            require_samna()
        except SamnaNotAvailableError as e:
            assert "stub" in str(e), e
        else:
            raise AssertionError("require_samna accepted the stub")
        print("ok")
        """
    )
    out = _run(code, str(tmp_path))
    assert out.returncode == 0, out.stderr + out.stdout
    assert _imports(marker) == 1


def test_a_stub_imported_before_the_package_is_reported_as_having_run(tmp_path):
    marker = _stub(tmp_path, tail="")  # a stub whose pip succeeded stays imported
    code = textwrap.dedent(
        """
        import samna
        import rockpool_dynapse2
        from rockpool_dynapse2._samna.adapter import require_samna, samna_status
        from rockpool_dynapse2.errors import SamnaNotAvailableError
        s = samna_status()
        assert s.stub and not s.real and "already run pip" in s.reason, s
        try:
            require_samna()
        except SamnaNotAvailableError as e:
            assert "restart Python" in str(e), e
        else:
            raise AssertionError("require_samna accepted the stub")
        print("ok")
        """
    )
    out = _run(code, str(tmp_path))
    assert out.returncode == 0, out.stderr + out.stdout
    assert _imports(marker) == 1


def test_what_imports_samna_and_when(tmp_path):
    """docs/installation.md's list: with a (stand-in for the) real samna installed, these
    packages import neither Rockpool nor samna; ``mapping`` imports Rockpool, whose own
    check imports samna."""
    pkg = tmp_path / "samna"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("__version__ = '0.0.0+compiled-stand-in'\n")
    (pkg / "samna.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    code = textwrap.dedent(
        """
        import sys
        import rockpool_dynapse2
        from rockpool_dynapse2 import app, chip, config, errors, parameters, simulation, training, transform
        from rockpool_dynapse2.config import Configuration
        Configuration.from_json(Configuration.empty().to_json())
        assert "samna" not in sys.modules and "rockpool" not in sys.modules
        import rockpool_dynapse2.mapping
        assert "rockpool" in sys.modules and "samna" in sys.modules
        print("ok")
        """
    )
    out = _run(code, str(tmp_path))
    assert out.returncode == 0, out.stderr + out.stdout


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
