"""Closed-form and qualitative checks of the circuit model, in both backends.

Expectations are computed here from the circuit equations of DYNAPSE2.md section 2 and
the documented constants, not read back from the simulator:

* DPI time constant ``tau = Ut C / (kappa Itau)``, pulse width ``t = Vth C / I``;
* a DPI without input decays by ``exp(-dt / tau)`` per step; an input pulse of weight
  ``w`` adds ``(Igain / Itau) w Iscale (1 - exp(-t_pulse / tau))``;
* rate grows with ``Idc``, the refractory period caps it, adaptation (AHP), GABA and
  SHUNT inhibition lower it, and NMDA passes only above its gate current.
"""

import numpy as np
import pytest

# --- documented constants (DYNAPSE2.md section 2) ----------------------------------------
UT = 25e-3
KAPPA = (0.75 + 0.66) / 2
IO = 0.5e-12
VTH = 0.7
C = {
    "ampa": 24.5e-12,
    "nmda": 25e-12,
    "gaba": 25e-12,
    "shunt": 24.5e-12,
    "ahp": 40e-12,
    "mem": 3e-12,
    "ref": 1.5e-12,
    "pulse": 0.5e-12,
    "pulse_ahp": 0.5e-12,
}
SYNAPSES = ("ampa", "nmda", "gaba", "shunt")
DT = 1e-3
T_SHORT = 100
T_LONG = 1000
# (The tests share a few shapes and lengths so that JAX compiles the simulation only a few times.)


def tau_of(itau, capacitance):
    """DPI time constant (s)."""
    return UT * capacitance / (KAPPA * itau)


def pulse_of(current, capacitance):
    """Pulse width (s) of a pulse extender."""
    return VTH * capacitance / current


def counts(spikes):
    """Total spikes of each neuron, ``(N,)``."""
    return spikes.sum(axis=(0, 1))


# --- DPI synapses --------------------------------------------------------------------------


# Exact closed forms are checked in float64 to 1e-9; in float32 the simulator computes the
# charge factor ``1 - exp(-t_pulse/tau)`` of a microsecond pulse against a millisecond tau
# with a few 1e-4 (AHP: 1e-3) relative rounding, as Rockpool's DynapSim does.
PRECISION = pytest.mark.parametrize("dtype, rtol", [("float32", 3e-5), ("float64", 1e-9)])
PRECISION_CHARGE = pytest.mark.parametrize("dtype, rtol", [("float32", 5e-4), ("float64", 1e-9)])


@PRECISION
def test_synapses_decay_exponentially_without_input(backend, simulate, dtype, rtol):
    """Every synapse type decays as exp(-dt/tau) with its own Itau and capacitance."""
    itau = {"ampa": 1e-10, "nmda": 3e-11, "gaba": 2e-10, "shunt": 6e-11}
    ipulse = 3.5e-8
    i0 = np.array([[2e-9, 1e-9, 3e-9, 5e-10], [1e-10, 4e-9, 2e-10, 1e-9]])  # (N, 4)
    T = T_SHORT
    _, rec = simulate(
        backend,
        (8, 2),
        np.zeros((1, T, 8)),
        state={"isyn": i0},
        Ipulse=ipulse,
        dtype=dtype,
        **{f"Itau_{s}": itau[s] for s in SYNAPSES},
    )
    t = np.arange(1, T + 1)[:, None]
    t_pulse = pulse_of(ipulse, C["pulse"])
    for k, s in enumerate(SYNAPSES):
        tau = tau_of(itau[s], C[s])
        d = np.exp(-DT / tau)
        expected = i0[None, :, k] * d**t
        if s == "ampa":
            # The dark current Io charges the AMPA DPI every step (Rockpool's clip at Io);
            # its contribution is ~1e-15 A here, far below float32 resolution of the currents.
            c = 1 - np.exp(-t_pulse / tau)
            expected = expected + IO * c * (1 - d**t) / (1 - d)
        np.testing.assert_allclose(rec[f"i{s}"][0], expected, rtol=rtol, err_msg=s)
        if s != "ampa":  # the ratio between later steps is the decay factor
            np.testing.assert_allclose(rec[f"i{s}"][0, 11] / rec[f"i{s}"][0, 10], d, rtol=4 * rtol, err_msg=s)


@PRECISION
def test_ahp_decays_exponentially_to_io(backend, simulate, dtype, rtol):
    """Without spikes the AHP current decays with tau_ahp and never falls below Io."""
    itau_ahp = 5e-11
    i0 = np.array([2e-10, 3e-12])
    T = T_SHORT
    _, rec = simulate(backend, (2,), np.zeros((1, T, 2)), state={"iahp": i0}, Itau_ahp=itau_ahp, dtype=dtype)
    d = np.exp(-DT / tau_of(itau_ahp, C["ahp"]))
    expected = np.maximum(i0[None, :] * d ** np.arange(1, T + 1)[:, None], IO)
    np.testing.assert_allclose(rec["iahp"][0], expected, rtol=rtol)
    assert rec["iahp"][0, -1, 1] == pytest.approx(IO, rel=1e-6)
    assert rec["spikes"].sum() == 0


@PRECISION_CHARGE
@pytest.mark.parametrize("Iscale", [1e-8, 2e-9])
def test_input_pulse_charges_each_synapse(backend, simulate, Iscale, dtype, rtol):
    """One input of weight w adds (Igain/Itau) w Iscale (1 - exp(-t_pulse/tau)) to its synapse only."""
    itau = {"ampa": 1e-10, "nmda": 3e-11, "gaba": 2e-10, "shunt": 6e-11}
    gain = {"ampa": 50.0, "nmda": 20.0, "gaba": 80.0, "shunt": 5.0}
    w = np.array([0.3, 0.7, 0.2, 1.5])
    ipulse = 1e-8  # t_pulse = 35 us
    x = np.zeros((1, T_SHORT, 8))  # two neurons; the second gets no input
    x[0, 0, :4] = w
    kwargs = {"Ipulse": ipulse, "Iscale": Iscale, "Ispkthr": 1e-3, "dtype": dtype}  # no spikes
    kwargs.update({f"Itau_{s}": itau[s] for s in SYNAPSES})
    kwargs.update({f"Igain_{s}": gain[s] * itau[s] for s in SYNAPSES})
    _, rec = simulate(backend, (8, 2), x, **kwargs)
    for s in SYNAPSES:
        assert np.all(rec[f"i{s}"][0, :, 1] <= IO), s
    t_pulse = pulse_of(ipulse, C["pulse"])
    for k, s in enumerate(SYNAPSES):
        tau = tau_of(itau[s], C[s])
        d, c = np.exp(-DT / tau), 1 - np.exp(-t_pulse / tau)
        before = IO if s == "ampa" else 0.0
        jump = gain[s] * w[k] * Iscale * c
        assert rec[f"i{s}"][0, 0, 0] == pytest.approx(before * d + jump, rel=rtol), s
        # Next step: no input, plain decay (AMPA: plus the dark-current floor).
        floor = IO * c if s == "ampa" else 0.0
        assert rec[f"i{s}"][0, 1, 0] == pytest.approx(rec[f"i{s}"][0, 0, 0] * d + floor, rel=max(rtol, 1e-6)), s


@PRECISION_CHARGE
def test_signed_input_drives_ampa_or_gaba(backend, simulate, dtype, rtol):
    """Signed layout: a positive weight charges AMPA only, a negative one GABA only, by |w|."""
    Iscale, ipulse, itau, igain = 1e-8, 3.5e-8, 1e-10, 1e-8
    x = np.zeros((1, T_SHORT, 2))
    x[0, 0] = [0.2, -0.3]
    _, rec = simulate(
        backend, (2,), x, Iscale=Iscale, Ipulse=ipulse, Ispkthr=1e-3, Itau_syn=itau, Igain_syn=igain, dtype=dtype
    )
    t_pulse = pulse_of(ipulse, C["pulse"])
    tau = {s: tau_of(itau, C[s]) for s in ("ampa", "gaba")}
    charge = {s: 1 - np.exp(-t_pulse / tau[s]) for s in tau}
    decay = {s: np.exp(-DT / tau[s]) for s in tau}
    ratio = igain / itau
    assert rec["iampa"][0, 0, 0] == pytest.approx(IO * decay["ampa"] + ratio * 0.2 * Iscale * charge["ampa"], rel=rtol)
    assert rec["igaba"][0, 0, 1] == pytest.approx(ratio * 0.3 * Iscale * charge["gaba"], rel=rtol)
    assert rec["igaba"][0, 0, 0] == 0.0
    # The inhibited neuron's AMPA DPI only sees the dark current.
    assert rec["iampa"][0, 0, 1] == pytest.approx(IO * decay["ampa"] + IO * charge["ampa"], rel=rtol)
    assert np.all(rec["inmda"] == 0.0) and np.all(rec["ishunt"] == 0.0)


# --- firing -------------------------------------------------------------------------------


def test_no_input_no_dc_no_spikes(backend, simulate):
    spikes, rec = simulate(backend, (8,), np.zeros((1, T_LONG, 8)), Idc=IO)
    assert spikes.sum() == 0
    assert rec["imem"].max() < 1e-3 * 1e-7  # stays far below the 100 nA threshold
    assert np.all(np.isfinite(rec["imem"]))


def test_rate_grows_monotonically_with_idc(backend, simulate):
    idc = np.array([IO, 1e-10, 3e-10, 1e-9, 3e-9, 1e-8, 1e-7, 1e-6])
    spikes, _ = simulate(backend, (len(idc),), np.zeros((1, T_LONG, len(idc))), Idc=idc)
    n = counts(spikes)
    assert n[0] == 0
    assert np.all(np.diff(n) > 0), n


def test_refractory_period_caps_the_rate(backend, simulate):
    """Under strong DC, consecutive spikes are at least ceil(t_ref/dt)+1 steps apart."""
    t_ref = np.array([2.5e-3, 5.5e-3, 10.5e-3])
    iref = VTH * C["ref"] / t_ref
    spikes, rec = simulate(
        backend, (3,), np.zeros((1, T_LONG, 3)), Idc=1e-6, Iref=iref, max_spikes_per_dt=1
    )
    n = counts(spikes)
    cap = T_LONG * DT / (t_ref + DT)
    assert np.all(n <= cap + 1), (n, cap)
    assert np.all(n >= 0.5 * cap), (n, cap)  # strong DC: the refractory period is what limits
    assert np.all(np.diff(n) < 0), n  # longer t_ref, lower rate
    for i in range(3):
        steps = np.flatnonzero(spikes[0, :, i])
        assert np.diff(steps).min() >= np.ceil(t_ref[i] / DT) + 1
        # The refractory timer starts at t_ref = Vth C_ref / Iref on every spike.
        np.testing.assert_allclose(rec["timer_ref"][0, steps, i], t_ref[i], rtol=1e-5)


def test_max_spikes_per_dt_caps_the_count(backend, simulate):
    x = np.zeros((1, T_LONG, 3))
    free, _ = simulate(backend, (3,), x, Idc=1e-5)
    capped, _ = simulate(backend, (3,), x, Idc=1e-5, max_spikes_per_dt=2)
    assert free.max() > 2  # several spikes in one 1 ms step, as Rockpool's DynapSim
    assert capped.max() == 2


@pytest.mark.parametrize("dtype, rtol", [("float32", 3e-3), ("float64", 1e-9)])
def test_ahp_lowers_the_rate(backend, simulate, dtype, rtol):
    """Spike-frequency adaptation: a larger Iw_ahp gives fewer spikes under the same DC.

    Also checks the AHP DPI's closed form: each step it decays by exp(-dt/tau_ahp) and each
    spike of the previous step adds (Igain_ahp/Itau_ahp) Iw_ahp (1 - exp(-t_pulse_ahp/tau_ahp)).
    """
    iw = np.array([IO, 1e-6, 1e-5])
    itau_ahp, igain_ahp, ipulse_ahp = 2.8e-11, 5.6e-11, 3.5e-7
    spikes, rec = simulate(
        backend,
        (3,),
        np.zeros((1, T_LONG, 3)),
        Idc=1e-8,
        Iw_ahp=iw,
        Itau_ahp=itau_ahp,
        Igain_ahp=igain_ahp,
        Ipulse_ahp=ipulse_ahp,
        dtype=dtype,
    )
    n = counts(spikes)
    assert n[2] > 0 and np.all(np.diff(n) < 0), n
    tau = tau_of(itau_ahp, C["ahp"])
    d, c = np.exp(-DT / tau), 1 - np.exp(-pulse_of(ipulse_ahp, C["pulse_ahp"]) / tau)
    iahp, s = rec["iahp"][0], spikes[0]
    expected = np.maximum(iahp[:-1] * d + (igain_ahp / itau_ahp) * iw * s[:-1] * c, IO)
    np.testing.assert_allclose(iahp[1:], expected, rtol=rtol)
    assert iahp[:, 2].max() > 100 * iahp[:, 0].max()


def _multi_input(T, drives):
    """Constant input per step in the (4N, N) layout: ``drives[i] = {synapse index: weight}``."""
    x = np.zeros((1, T, 4 * len(drives)))
    for i, d in enumerate(drives):
        for k, w in d.items():
            x[0, :, 4 * i + k] = w
    return x


def test_gaba_lowers_the_rate(backend, simulate):
    x = _multi_input(T_LONG, [{0: 0.01}, {0: 0.01, 2: 0.002}, {0: 0.01, 2: 0.005}])
    spikes, rec = simulate(backend, (12, 3), x)
    n = counts(spikes)
    assert n[0] > 5 and np.all(np.diff(n) < 0), n
    assert rec["igaba"][0, :, 0].max() == 0 and rec["igaba"][0, -1, 2] > rec["igaba"][0, -1, 1] > 0


def test_shunt_lowers_the_rate(backend, simulate):
    x = _multi_input(T_LONG, [{0: 0.01}, {0: 0.01, 3: 0.0002}, {0: 0.01, 3: 0.0005}])
    spikes, rec = simulate(backend, (12, 3), x)
    n = counts(spikes)
    assert n[0] > 5 and np.all(np.diff(n) < 0), n
    assert rec["ishunt"][0, -1, 2] > rec["ishunt"][0, -1, 1] > 0


def test_nmda_passes_only_above_its_gate(backend, simulate):
    """With If_nmda far above the membrane current the NMDA input barely acts."""
    x = _multi_input(T_LONG, [{1: 0.03}, {1: 0.03}, {}])
    spikes, rec = simulate(backend, (12, 3), x, If_nmda=np.array([IO, 1e-6, IO]))
    n = counts(spikes)
    assert n[0] >= 10 and n[1] <= 0.25 * n[0], n
    # The gate acts on the membrane, not on the synapse: both NMDA DPIs carry the same current.
    np.testing.assert_allclose(rec["inmda"][0, :, 0], rec["inmda"][0, :, 1], rtol=1e-6)
    assert np.all(rec["iampa"][0] < 1e-12)  # no AMPA drive: only the dark current


def test_nmda_with_open_gate_equals_ampa(backend, simulate):
    """AMPA and NMDA with equal tau, gain and capacitance and a gate far below I_mem drive alike."""
    x = _multi_input(T_LONG, [{0: 0.03}, {1: 0.03}, {}])
    same = {"C_nmda": C["ampa"], "Itau_nmda": 8.7e-11, "Itau_ampa": 8.7e-11, "Igain_nmda": 8.7e-9, "Igain_ampa": 8.7e-9}
    spikes, rec = simulate(backend, (12, 3), x, If_nmda=1e-16, **same)
    n = counts(spikes)
    assert n[0] >= 10 and abs(n[0] - n[1]) <= max(1, 0.1 * n[0]), n
    # Equal DPIs; the AMPA one starts at Io (NMDA at 0) and carries the dark-current floor.
    np.testing.assert_allclose(rec["inmda"][0, :, 1], rec["iampa"][0, :, 0], rtol=1e-4, atol=2 * IO)


def test_negative_signed_input_inhibits(backend, simulate):
    """Signed layout: negative input is GABA current and lowers the rate (unlike Rockpool's DynapSim)."""
    x = np.zeros((1, T_LONG, 3))
    x[0, :, 1] = -0.07
    spikes, rec = simulate(backend, (3,), x, Idc=1e-9)
    n = counts(spikes)
    assert rec["igaba"][0, 1:, 1].min() > 0 and rec["igaba"][0, :, 0].max() == 0
    assert n[0] > 10 and n[1] < 0.8 * n[0], n


# --- JAX: jit equals eager -------------------------------------------------------------------


def test_jax_jit_equals_eager():
    import jax

    import rockpool_dynapse2 as rd

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 0.05, (2, 300, 12)) * (rng.random((2, 300, 12)) < 0.2)
    mod = rd.DynapSimJax((12, 3), Idc=np.array([1e-10, 1e-9, 3e-9]), Iw_ahp=1e-6, w_rec=rng.uniform(0, 0.1, (3, 12)))
    eager_out, eager_state, eager_rec = mod(x, record=True)

    @jax.jit
    def run(m, inputs):
        return m(inputs, record=True)

    jit_out, jit_state, jit_rec = run(mod, x)
    assert np.asarray(eager_out).sum() > 0
    np.testing.assert_array_equal(np.asarray(jit_out), np.asarray(eager_out))
    for k in eager_rec:
        np.testing.assert_allclose(np.asarray(jit_rec[k]), np.asarray(eager_rec[k]), rtol=1e-6, atol=0, err_msg=k)
    for k in eager_state:
        np.testing.assert_allclose(np.asarray(jit_state[k]), np.asarray(eager_state[k]), rtol=1e-6, atol=0, err_msg=k)
