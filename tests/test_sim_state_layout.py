"""The simulation state by name: one table of the state's fields (``module_spec.STATE_FIELDS``)
drives the initial values, the stored shapes, the records and the torch loop's flat packing.
A state added to ``DynapState`` reaches all of them without an edit of the modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rockpool_dynapse2.chip import SynapseType
from rockpool_dynapse2.errors import ShapeError
from rockpool_dynapse2.simulation.module_spec import (
    STATE_FIELDS,
    initial_state_values,
    state_needs_broadcast,
    state_trailing_shape,
)
from rockpool_dynapse2.simulation.records import DynapState

PACKAGE = Path(__file__).resolve().parents[1] / "rockpool_dynapse2"


def test_table_names_only_fields_of_the_state():
    assert set(STATE_FIELDS) <= set(DynapState._fields)


def test_initial_values_cover_every_field():
    io = np.array([1e-13, 2e-13, 3e-13])
    rest = initial_state_values(io)
    assert tuple(rest) == DynapState._fields
    for name, value in rest.items():
        assert value.shape == (3,) + state_trailing_shape(name), name
    np.testing.assert_array_equal(rest["isyn"][:, SynapseType.AMPA], io)
    others = [k for k in SynapseType if k != SynapseType.AMPA]
    np.testing.assert_array_equal(rest["isyn"][:, others], 0.0)
    np.testing.assert_array_equal(rest["imem"], io)


def test_trailing_shape_and_broadcast_from_the_table():
    assert state_trailing_shape("isyn") == (len(SynapseType),)
    assert state_trailing_shape("imem") == ()
    assert state_needs_broadcast("isyn", (5, len(SynapseType)), 2, 5)
    assert not state_needs_broadcast("isyn", (2, 5, len(SynapseType)), 2, 5)
    with pytest.raises(ShapeError, match="state isyn"):
        state_needs_broadcast("isyn", (5,), 2, 5)


def test_torch_flat_state_round_trips_by_name():
    torch = pytest.importorskip("torch")
    from rockpool_dynapse2.simulation.torch_loop import flatten_state, unflatten_state

    values = {
        name: (tuple(None if k == SynapseType.NMDA else torch.full((2,), float(k)) for k in SynapseType))
        if STATE_FIELDS.get(name) is not None and STATE_FIELDS[name].per_synapse
        else torch.full((2,), float(i + 10))
        for i, name in enumerate(DynapState._fields)
    }
    state = DynapState(**values)
    flat = flatten_state(state)
    assert len(flat) == len(DynapState._fields) - 1 + len(SynapseType)
    back = unflatten_state(flat)
    for name in DynapState._fields:
        a, b = getattr(state, name), getattr(back, name)
        if isinstance(a, tuple):
            assert len(a) == len(b) and all((x is None and y is None) or x is y for x, y in zip(a, b))
        else:
            assert a is b


def test_a_new_state_needs_no_edit_of_the_modules(tmp_path):
    """Add a field to ``DynapState`` in a scratch copy of the package (records.py only): the
    initial values, the stored-shape check and the torch loop's packing know it."""
    pytest.importorskip("torch")
    copy = tmp_path / "rockpool_dynapse2"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    records = copy / "simulation" / "records.py"
    text = records.read_text()
    anchor = '    spikes: Any\n    """Spike counts of the last step."""\n'
    assert anchor in text
    records.write_text(text.replace(anchor, anchor + '    inew: Any\n    """A new state."""\n'))
    script = textwrap.dedent(
        """
        import numpy as np, torch
        from rockpool_dynapse2.simulation.records import DynapState
        from rockpool_dynapse2.simulation.module_spec import initial_state_values, state_needs_broadcast
        from rockpool_dynapse2.simulation.torch_loop import flatten_state, unflatten_state
        assert DynapState._fields[-1] == "inew"
        rest = initial_state_values(np.ones(3))
        assert rest["inew"].shape == (3,) and not rest["inew"].any()
        assert state_needs_broadcast("inew", (3,), 2, 3)
        state = DynapState(**{n: (torch.ones(2),) * 4 if n == "isyn" else torch.full((2,), float(i)) for i, n in enumerate(DynapState._fields)})
        back = unflatten_state(flatten_state(state))
        assert back.inew is state.inew and back.spikes is state.spikes
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
