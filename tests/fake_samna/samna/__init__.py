"""A fake of the part of SynSense's samna that rockpool_dynapse2's ``SamnaBoard`` uses (tests only).

This project has no DYNAP-SE2 board and cannot install the real samna (PyPI's ``samna`` is
an installer stub). This package stands in for it, with samna's object names and fields
as public code uses them (``docs``: /work/shared/DYNAPSE2.md section 4; Rockpool 3.1's
samna driver and samna alias; public lab scripts):

* :mod:`samna.device`: ``get_all_devices()``, ``get_unopened_devices()`` (``DeviceInfo``:
  ``device_type_name``, ``serial_number``, ...), ``open_device(info)``, ``close_device(board)``;
* :mod:`samna.dynapse2`: ``Dynapse2Configuration`` -> ``chips[i]`` -> ``cores[4]`` ->
  ``parameters`` (name -> ``Dynapse2Parameter(type, coarse_value, fine_value)``) and
  ``neurons[256]`` -> ``synapses[64]`` / ``destinations[4]`` / 14 latches;
  ``Dynapse2Synapse``, ``Dynapse2Destination``, ``NormalGridEvent``, ``Dendrite``;
  the board (``configure_opal_kelly``, ``reset_fpga``, ``get_model``,
  ``grid_bus_write_events``, ``input_interface_write_events``, ``read_events``) and its
  model (``get_configuration``, ``apply_configuration``, ``reset``, ``clear_error_queue``).

The board behaves like hardware as far as the driver can tell: an FPGA clock in µs,
events released at their timestamps, events sent off the grid (hops -7, -7) bounced back
stamped with the time of return (control events with ``x_hop`` -6, as Rockpool's driver
expects), and the chips executed by rockpool_dynapse2's ``VirtualBoard`` from the
configuration the model was given (see :mod:`samna._hardware`). Faults can be injected.

Where samna's behaviour is unknown the fake is *stricter*: array members (``synapses``,
``destinations``, ``weight``, ``core``) are bound by value (reading gives a copy, so
changing it in place changes nothing), setting an unknown attribute or a value of the
wrong type raises, ``get_configuration`` returns a copy.

Not covered: JSON (``to_json``/``from_json``), sADC, DVS, bio-amplifiers, monitoring,
``output_read`` and the ``..._u32`` writers.

**Activation.** rockpool_dynapse2 accepts a samna as real when it is already imported and
is not PyPI's stub (``_samna_detect.samna_status``: "samna is already imported"). The
tests put ``tests/fake_samna`` first on ``sys.path``, remove any ``samna`` from
``sys.modules``, import this package, and restore everything afterwards; no marker file
(such as a dummy ``.so``) and no monkeypatching of rockpool_dynapse2 is needed.
"""

from . import device, dynapse2

__all__ = ["device", "dynapse2"]

__version__ = "0.0.0+fake"
FAKE = True
"""Marks this package as the test fake (the real samna has no such attribute)."""
