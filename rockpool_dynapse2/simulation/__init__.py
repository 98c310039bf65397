"""Differentiable simulation of DYNAP-SE2 neurons.

The circuit equations (:mod:`.dpi`, :mod:`.membrane`, :mod:`.spiking`, composed in
:mod:`.step`) are written once over an array namespace; :mod:`.jax_module` and
:mod:`.torch_module` add only the surrogate gradient and the time loop. The backend
modules are imported on first use, so importing this package needs neither jax nor torch.
"""

from .records import CURRENT_NAMES, LAYOUT_NAMES, SYNAPSE_NAMES, DynapParams, DynapState
from .spec import ModuleSpec, build_module_spec
