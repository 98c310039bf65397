"""Device mismatch: relative Gaussian parameter noise, for training and for evaluation.

Analog circuits on a DYNAP-SE2 differ from their nominal values transistor by
transistor. We model this as in Çakal et al. (2024) and Rockpool's
``mismatch_generator``: every selected parameter ``p`` becomes

:math:`p' = p \\, (1 + \\sigma \\, \\mathcal{N}(0, 1))`,  with  :math:`\\sigma = d / r`,

where ``d`` is the percentage deviation (0.30: "up to 30 %") reached at ``r`` standard
deviations (the sigma rule; 3.0: 99.7 % of the draws deviate less than ``d``). Currents
and layout constants must stay positive: their factor is floored at
:data:`POSITIVE_FLOOR` (only reached beyond ``1/sigma`` standard deviations).

Parameters are selected by Rockpool family: ``"weights"`` (``w_rec``, Linear weights),
``"currents"`` (bias currents) and ``"layout"`` (capacitances, ``Io``, ``kappa``, ``Ut``,
``Vth``). Both kinds of use come from one function:

* **frozen**: :func:`mismatch` with a fixed seed is one physical chip;
* **dynamic**: :func:`mismatch` with a new key every training step is noise injection
  (pure and traceable: use it inside ``jax.jit``/``jax.grad``), or the wrapper module
  :class:`MismatchJax`, or for torch :func:`mismatch_T_config` with Rockpool's
  ``make_param_T_network``.

:func:`monte_carlo` runs a network on K mismatched chips (``jax.vmap`` in JAX) and
returns the distribution of a metric.
"""

from __future__ import annotations

import copy
import sys
from typing import Any, Callable, Dict, Iterable, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np
from rockpool.nn.modules.jax.jax_module import JaxModule
from rockpool.parameters import SimulationParameter, State

from ..errors import ParameterValueError, Shown
from ..parameters.validate import check_real, flag, function, instance, integer, names, seed as check_seed
from .deviation import MAX_DEVIATION, POSITIVE_FLOOR, sigma_from_deviation

__all__ = [
    "FAMILIES",
    "POSITIVE_FLOOR",
    "MAX_DEVIATION",
    "sigma_from_deviation",
    "mismatch_prototype",
    "mismatch",
    "MismatchJax",
    "mismatch_T_config",
    "mismatch_rows",
    "monte_carlo",
]

FAMILIES: Tuple[str, ...] = ("weights", "currents", "layout")
"""Parameter families mismatch can select."""

_POSITIVE_FAMILIES = ("currents", "layout")

def _check_families(families: Union[str, Iterable[str]]) -> Tuple[str, ...]:
    return names("families", families, FAMILIES, kind="family")


def _backend(name: str, net: Any, allowed: Tuple[str, ...] = ("jax", "torch")) -> str:
    """``"jax"`` or ``"torch"``: the kind of Rockpool module ``net`` is, among ``allowed``.

    Raises:
        ParameterValueError: ``net`` is no Rockpool module of an allowed backend.
    """
    if "jax" in allowed and isinstance(net, JaxModule):
        return "jax"
    if "torch" in allowed and "torch" in sys.modules:
        from rockpool.nn.modules.torch.torch_module import TorchModule

        if isinstance(net, TorchModule):
            return "torch"
    kinds = " or ".join({"jax": "a Rockpool JaxModule", "torch": "a Rockpool TorchModule"}[a] for a in allowed)
    raise ParameterValueError(name, f"{kinds} (a module or a network)", Shown(f"a {type(net).__name__}"))


def _jax_key(key: Any) -> Any:
    """A jax PRNG key from an integer seed or a key (a traced key passes).

    Raises:
        ParameterValueError: anything else.
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return jax.random.PRNGKey(check_seed("key", key))
    dtype, shape = getattr(key, "dtype", None), tuple(getattr(key, "shape", (None,)))
    if dtype is not None and (jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) or (dtype == jnp.uint32 and shape == (2,))):
        return key
    raise ParameterValueError("key", "a jax.random.PRNGKey or an integer seed", Shown(f"a {type(key).__name__}") if dtype is None else Shown(f"an array of dtype {dtype} and shape {shape}"))


def _deep_merge(a: Dict, b: Dict) -> Dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _prune(tree: Dict) -> Dict:
    """Drop empty sub-dictionaries."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            v = _prune(v)
            if v:
                out[k] = v
        else:
            out[k] = v
    return out


def _family_tree(net: Any, family: str) -> Dict:
    """Parameters and simulation parameters of one family, as a nested dict."""
    return _prune(_deep_merge(net.parameters(family), net.simulation_parameters(family)))


# --- JAX -------------------------------------------------------------------------------


def mismatch_prototype(net: Any, families: Union[str, Sequence[str]] = ("currents", "layout")) -> Dict:
    """A prototype tree for Rockpool's ``mismatch_generator``: ``True`` where a parameter is mismatched.

    The tree has the structure of Rockpool's ``module_registery(net)`` (every parameter
    and simulation parameter, nested by submodule), so
    ``rockpool.transform.mismatch.mismatch_generator(prototype, 0.3, 3.0)(net, key)``
    works with our modules.

    Args:
        net: a Rockpool ``JaxModule`` (a single module or a network).
        families: which families to mark.
    """
    _backend("net", net, ("jax",))
    families = _check_families(families)
    attrs, modules = net._get_attribute_registry()
    tree: Dict[str, Any] = {
        k: v[2] in families for k, v in attrs.items() if v[1] in ("Parameter", "SimulationParameter")
    }
    for k, (mod, _) in modules.items():
        tree[k] = mismatch_prototype(mod, families)
    return tree


def _mismatch_jax(net: Any, key: Any, sigma: float, families: Tuple[str, ...]) -> Any:
    updates: Dict = {}
    for family in families:
        tree = _family_tree(net, family)
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        if not leaves:
            continue
        key, *keys = jax.random.split(key, len(leaves) + 1)
        new = []
        for leaf, k in zip(leaves, keys):
            leaf = jnp.asarray(leaf)
            factor = 1.0 + sigma * jax.random.normal(k, leaf.shape, leaf.dtype)
            if family in _POSITIVE_FAMILIES:
                factor = jnp.maximum(factor, POSITIVE_FLOOR)
            new.append(leaf * factor)
        updates = _deep_merge(updates, jax.tree_util.tree_unflatten(treedef, new))
    return net.set_attributes(updates)


class MismatchJax(JaxModule):
    """Dynamic mismatch as a module: a new draw of the wrapped module's parameters at every call.

    The draw comes from the ``rng_key`` state, split at each call; carry the returned
    state (``net = net.set_attributes(new_state)``) to advance it. Inside your own
    ``jax.jit`` training step you may instead call :func:`mismatch` with a fresh key.

    Args:
        module: the ``JaxModule`` (or network) to perturb.
        percent_deviation: deviation reached at ``sigma_rule`` standard deviations.
        sigma_rule: see :func:`sigma_from_deviation`.
        families: parameter families to perturb.
        seed: seed of the first draw.
    """

    def __init__(
        self,
        module: Any,
        percent_deviation: float = 0.3,
        sigma_rule: float = 3.0,
        families: Union[str, Sequence[str]] = ("currents", "layout"),
        seed: int = 0,
    ):
        _backend("module", module, ("jax",))
        sigma = sigma_from_deviation(percent_deviation, sigma_rule)
        families = _check_families(families)
        seed = check_seed("seed", seed)
        super().__init__(shape=module.shape, spiking_input=module.spiking_input, spiking_output=module.spiking_output)
        self.module = module
        self.sigma = SimulationParameter(sigma)
        self._families = families
        self._init_args = {"percent_deviation": percent_deviation, "sigma_rule": sigma_rule, "families": self._families}
        key = jax.random.PRNGKey(seed)
        self.rng_key = State(key, init_func=lambda _: key)

    def tree_flatten(self):
        children = (self.parameters(), self.simulation_parameters(), self.state(), self.modules())
        return children, (self._name, self._shape, self._families)

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        params, sim_params, state, modules = children
        name, _, families = aux_data
        obj = object.__new__(cls)
        JaxModule.__init__(obj, shape=modules["module"].shape)
        obj.module = modules["module"]
        obj._families = families
        obj.sigma = SimulationParameter(sim_params["sigma"])
        obj.rng_key = State(state["rng_key"], init_func=lambda _: state["rng_key"])
        obj._name = name
        return obj

    def evolve(self, input_data: Any, record: bool = False):
        key, sub = jax.random.split(self.rng_key)
        perturbed = _mismatch_jax(self.module, sub, self.sigma, self._families)
        out, state, rec = perturbed.evolve(input_data, record)
        return out, {"module": state, "rng_key": key}, {"module": rec}

    def as_graph(self):
        return self.module.as_graph()



# --- torch -----------------------------------------------------------------------------


def _perturb_torch(p: Any, eps: Any, sigma: float, positive: bool) -> Any:
    """``p (1 + sigma eps)`` for torch tensors (``eps`` float64, broadcast against ``p``), the
    factor floored at :data:`POSITIVE_FLOOR` for a ``positive`` family."""
    import torch

    factor = (1.0 + sigma * eps).to(dtype=p.dtype, device=p.device)
    if positive:
        factor = torch.clamp(factor, min=POSITIVE_FLOOR)
    return p * factor


class _RelativeNoise:
    """``p -> p (1 + sigma N(0,1))`` for a torch tensor: frozen (one stored draw) or a new draw per call."""

    def __init__(self, sigma: float, positive: bool, seed: int, frozen_like: Any = None):
        import torch

        self.sigma = sigma
        self.positive = positive
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.eps = None
        if frozen_like is not None:
            self.eps = torch.randn(tuple(frozen_like.shape), generator=self.generator, dtype=torch.float64)

    def __call__(self, p: Any) -> Any:
        import torch

        eps = self.eps
        if eps is None:
            eps = torch.randn(tuple(p.shape), generator=self.generator, dtype=torch.float64)
        return _perturb_torch(p, eps, self.sigma, self.positive)

    def __deepcopy__(self, memo: Dict) -> "_RelativeNoise":
        import torch

        new = copy.copy(self)
        new.generator = torch.Generator().manual_seed(self.seed)
        new.generator.set_state(self.generator.get_state())
        return new


def mismatch_T_config(
    net: Any,
    percent_deviation: float = 0.3,
    sigma_rule: float = 3.0,
    families: Union[str, Sequence[str]] = ("currents", "layout"),
    frozen: bool = False,
    seed: int = 0,
) -> Dict:
    """A transformation tree for Rockpool's ``make_param_T_network``: mismatch of a torch network.

    Examples:
        >>> from rockpool.transform.torch_transform import make_param_T_network
        >>> T_net = make_param_T_network(net, mismatch_T_config(net, 0.3, families=("currents", "weights")))

    Args:
        net: a Rockpool ``TorchModule`` network.
        percent_deviation: deviation (as a fraction) reached at ``sigma_rule`` standard
            deviations; see :func:`sigma_from_deviation`.
        sigma_rule: see :func:`sigma_from_deviation`.
        families: parameter families to perturb (simulation parameters included).
        frozen: one fixed draw (one chip) instead of a new draw at every forward pass.
        seed: seed of the draws (each parameter gets its own seed derived from it).

    Returns:
        A nested dict ``{submodule: {parameter: transform}}``.
    """
    _backend("net", net, ("torch",))
    sigma = sigma_from_deviation(percent_deviation, sigma_rule)
    families = _check_families(families)
    frozen = flag("frozen", frozen)
    seed = check_seed("seed", seed)
    counter = iter(range(1, 1 << 30))

    def build(tree: Dict, positive: bool) -> Dict:
        return {
            k: build(v, positive)
            if isinstance(v, dict)
            else _RelativeNoise(sigma, positive, seed * 1_000_003 + next(counter), v if frozen else None)
            for k, v in sorted(tree.items())
        }

    config: Dict = {}
    for family in families:
        config = _deep_merge(config, build(_family_tree(net, family), family in _POSITIVE_FAMILIES))
    return config


def _mismatch_torch(net: Any, seed: int, sigma: float, families: Tuple[str, ...]) -> Any:
    import torch

    net = copy.deepcopy(net)
    config = mismatch_T_config(net, sigma, 1.0, families, frozen=True, seed=seed)

    def apply(module: Any, tree: Dict) -> None:
        _, modules = module._get_attribute_registry()
        with torch.no_grad():
            for k, v in tree.items():
                if isinstance(v, dict):
                    apply(modules[k][0], v)
                else:
                    current = getattr(module, k)
                    new = v(current.detach())
                    if isinstance(current, torch.nn.Parameter):
                        current.copy_(new)
                    else:
                        setattr(module, k, new)

    apply(net, config)
    return net


def mismatch_rows(
    module: Any,
    n_chips: int,
    percent_deviation: float = 0.3,
    sigma_rule: float = 3.0,
    families: Union[str, Sequence[str]] = ("currents", "layout"),
    generator: Any = None,
) -> Dict[str, Any]:
    """Mismatched values of one torch module's parameters for ``n_chips`` chips at once.

    Each parameter ``p`` of the selected families becomes ``p (1 + sigma eps)`` with one
    draw ``eps ~ N(0, 1)`` per chip and element (floored at ``POSITIVE_FLOOR`` for
    currents and layout constants), as :func:`mismatch` draws one chip; the result keeps
    the gradient of trainable parameters. With a ``DynapSimTorch`` the values feed
    :meth:`~rockpool_dynapse2.DynapSimTorch.simulate` as per-row parameters (repeated
    over the samples of each chip), so that many chips train in one batch.

    Args:
        module: a Rockpool ``TorchModule`` without submodules (e.g. ``DynapSimTorch`` or
            ``LinearTorch``).
        n_chips: chips to draw; >= 1.
        percent_deviation: as :func:`mismatch`.
        sigma_rule: as :func:`mismatch`.
        families: as :func:`mismatch`.
        generator: a ``torch.Generator`` for the draws (default: torch's global one).

    Returns:
        ``{name: tensor (n_chips, *shape)}`` for every parameter of the families.
    """
    import torch

    _backend("module", module, ("torch",))
    n_chips = integer("n_chips", n_chips, low=1)
    sigma = sigma_from_deviation(percent_deviation, sigma_rule)
    if generator is not None:
        instance("generator", generator, torch.Generator, "a torch.Generator (or None: torch's global one)")
    rows: Dict[str, Any] = {}
    for family in _check_families(families):
        for name, value in _family_tree(module, family).items():
            if isinstance(value, dict):
                raise ParameterValueError("module", "a module without submodules", type(module).__name__)
            value = getattr(module, name)
            eps = torch.randn((int(n_chips),) + tuple(value.shape), generator=generator, dtype=torch.float64)
            rows[name] = _perturb_torch(value, eps, sigma, family in _POSITIVE_FAMILIES)
    return rows


# --- both backends -----------------------------------------------------------------------


def mismatch(
    net: Any,
    key: Any,
    percent_deviation: float = 0.3,
    sigma_rule: float = 3.0,
    families: Union[str, Sequence[str]] = ("currents", "layout"),
) -> Any:
    """A mismatched copy of a network: one draw of relative Gaussian parameter noise.

    With a fixed key this is one physical chip (frozen mismatch); with a new key at every
    training step it is noise injection (dynamic mismatch). In JAX it is pure and
    traceable (use it inside ``jax.jit``/``jax.grad``; gradients flow through the
    perturbed parameters to the nominal ones) and keeps each parameter's dtype.

    Args:
        net: a Rockpool ``JaxModule`` or ``TorchModule`` (single module or network).
        key: a ``jax.random.PRNGKey`` (JAX) or an integer seed (either backend).
        percent_deviation: deviation reached at ``sigma_rule`` standard deviations
            (0.3 for 30 %).
        sigma_rule: see :func:`sigma_from_deviation`.
        families: families to perturb, from :data:`FAMILIES`.

    Returns:
        A new network; ``net`` is left unchanged.
    """
    backend = _backend("net", net)
    sigma = sigma_from_deviation(percent_deviation, sigma_rule)
    families = _check_families(families)
    if backend == "jax":
        return _mismatch_jax(net, _jax_key(key), sigma, families)
    return _mismatch_torch(net, check_seed("key", key), sigma, families)  # a torch network takes a seed


def monte_carlo(
    net: Any,
    input_data: Any,
    metric: Callable[[Any], Any],
    n_chips: int = 32,
    percent_deviation: float = 0.3,
    sigma_rule: float = 3.0,
    families: Union[str, Sequence[str]] = ("currents", "layout"),
    seed: int = 0,
) -> np.ndarray:
    """Evaluate a network on ``n_chips`` mismatched chips: the distribution of a metric.

    JAX networks run all chips at once (``jax.vmap`` over the random keys, compiled);
    torch networks run one chip after the other.

    Args:
        net: a Rockpool ``JaxModule`` or ``TorchModule`` network (at rest).
        input_data: its input, ``(B, T, N_in)``.
        metric: ``metric(output) -> scalar`` on the network's output ``(B, T, N_out)``,
            e.g. an accuracy; written with ``jax.numpy`` for JAX networks.
        n_chips: how many chips to draw; >= 1.
        percent_deviation: as :func:`mismatch`.
        sigma_rule: as :func:`mismatch`.
        families: as :func:`mismatch`.
        seed: seed of the chips (chip ``k`` is the same for the same seed).

    Returns:
        The metric of every chip, a float64 array ``(n_chips,)``.
    """
    backend = _backend("net", net)
    n_chips = integer("n_chips", n_chips, low=1)
    sigma = sigma_from_deviation(percent_deviation, sigma_rule)
    families = _check_families(families)
    function("metric", metric, "a function of the network's output returning one number")
    seed = check_seed("seed", seed)
    check_real("input_data", input_data, what="an array of real numbers (B, T, N_in)")
    if backend == "jax":
        x = jnp.asarray(input_data)

        def one_chip(key: Any) -> Any:
            chip = _mismatch_jax(net, key, sigma, families)
            return metric(chip(x)[0])

        keys = jax.random.split(jax.random.PRNGKey(seed), n_chips)
        return _metric_values(jax.jit(jax.vmap(one_chip))(keys), n_chips)

    import torch

    values = []
    with torch.no_grad():
        for k in range(n_chips):
            chip = _mismatch_torch(net, seed * 1_000_003 + k, sigma, families)
            chip.reset_state()
            values.append(_metric_values(metric(chip(torch.as_tensor(input_data))[0]), None))
    return np.asarray(values, dtype=np.float64)


def _metric_values(values: Any, n_chips: Any) -> Any:
    """The metric's values as float64: ``(n_chips,)``, or one float (``n_chips`` None).

    Raises:
        ParameterValueError: the metric returned something else than one real number per chip.
    """
    arr = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values)
    expected = () if n_chips is None else (n_chips,)
    if arr.shape != expected or arr.dtype.kind not in "biuf":
        raise ParameterValueError("metric", "a function returning one real number", Shown(f"an array of dtype {arr.dtype} and shape {arr.shape[len(expected):]} per chip"))
    return float(arr) if n_chips is None else arr.astype(np.float64)


