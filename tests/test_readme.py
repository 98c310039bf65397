"""The README's example runs as written, prints what it promises, and writes its
configuration where it says (the current directory, gzip-compressed, under 2 MB)."""

import gzip
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _block(heading):
    text = (ROOT / "README.md").read_text()
    return re.search(rf"## {heading}\n\n```python\n(.*?)```", text, re.S).group(1)


def test_readme_example_runs_and_prints_its_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(_block("Example"), "README.md", "exec"), namespace)
    assert namespace["out"].shape == (1, 500, 16)
    assert 0 <= namespace["report"].error < 0.5
    printed = capsys.readouterr().out
    for line in ("simulated spikes per neuron:", "quantization error", "wrote config.json.gz",
                 "board spikes per output channel:"):
        assert line in printed, printed
    # Only the compressed configuration is written, into the current directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json.gz"]
    path = tmp_path / "config.json.gz"
    assert 0 < path.stat().st_size < 2_000_000
    assert "configuration" in json.loads(gzip.decompress(path.read_bytes()))


def test_readme_shows_what_the_example_prints():
    """The printed example lists the same lines, in the same order, as the code prints."""
    text = (ROOT / "README.md").read_text()
    shown = re.search(r"It prints, for example.*?```\n(.*?)```", text, re.S).group(1).splitlines()
    code = _block("Example")
    printed = re.findall(r'print\(f?"([^"{:]+)', code)
    assert [line.split(":")[0].split(" ")[0] for line in shown] == [p.split(" ")[0] for p in printed]


def test_home_page_example_runs_and_writes_only_config_json_gz(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "index.md").read_text()
    code = re.search(r"## An example\n\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "docs/index.md", "exec"), namespace)
    assert namespace["out"].shape == (1, 500, 16)
    assert "core 0: error" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json.gz"]
