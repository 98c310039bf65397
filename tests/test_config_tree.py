"""The configuration tree and its JSON in samna's format.

The oracle is Rockpool 3.1's ``samna_alias``: for the same content, built field by field
into Rockpool's dataclasses, ``to_json()`` must give exactly our text. Then round trips,
every named validation error (with the path of the bad field for JSON input), speed of a
4-chip configuration, ``summary()`` counts, and ``to_samna()`` without samna.
"""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from rockpool_dynapse2.chip import BIAS_PARAMETERS, Dendrite, Transistor
from rockpool_dynapse2.config import (
    LATCHES,
    Bioamps,
    Chip,
    ChipSadcEnables,
    Configuration,
    Core,
    CoreSadcEnables,
    Destination,
    DvsInterface,
    DvsMode,
    Neuron,
    Parameter,
    Synapse,
    Vec2,
    default_core_parameters,
    from_json,
    to_json,
)
from rockpool_dynapse2.errors import (
    BiasCodeError,
    Dynapse2Error,
    ParameterValueError,
    SamnaNotAvailableError,
    ShapeError,
    UnknownParameterError,
)
from rockpool_dynapse2.parameters import BiasCode

DENDRITES = (Dendrite.AMPA, Dendrite.NMDA, Dendrite.GABA, Dendrite.SHUNT)


# --- a non-trivial configuration -----------------------------------------------------------


def _param(rng, transistor, private=False):
    kwargs = {}
    if private:
        kwargs = dict(
            address=int(rng.integers(0, 2**40)),
            cookie=int(rng.integers(0, 2**20)),
            initial_type=Transistor.P if transistor is Transistor.N else Transistor.N,
            switchable_type=bool(rng.random() < 0.5),
        )
    return Parameter(transistor, int(rng.integers(0, 6)), int(rng.integers(0, 256)), **kwargs)


def _param_map(rng, names):
    return {name: _param(rng, Transistor.N if i % 2 else Transistor.P, private=i % 3 == 0) for i, name in enumerate(names)}


def _destination(rng):
    return Destination(
        core=tuple(rng.random(4) < 0.5),
        x_hop=int(rng.integers(-7, 8)),
        y_hop=int(rng.integers(-7, 8)),
        tag=int(rng.integers(0, 2048)),
    )


def _neuron(rng):
    synapses = [
        Synapse(
            dendrite=DENDRITES[rng.integers(4)],
            stp=bool(rng.random() < 0.2),
            weight=tuple(bool(b) for b in rng.random(4) < 0.5),
            precise_delay=bool(rng.random() < 0.2),
            mismatched_delay=bool(rng.random() < 0.2),
            tag=int(rng.integers(0, 2048)),
        )
        for _ in range(int(rng.integers(0, 65)))
    ]
    destinations = [_destination(rng) for _ in range(int(rng.integers(0, 5)))]
    latches = {name: bool(rng.random() < 0.3) for name in LATCHES}
    return Neuron.from_entries(synapses, destinations, **latches)


def make_config(n_chips, seed=0, neurons_per_core=12):
    """Random synapses, destinations, latches, codes and chip-level settings on every core."""
    rng = np.random.default_rng(seed)
    chips = []
    for i_chip in range(n_chips):
        cores = []
        for i_core in range(4):
            params = {p.name: Parameter(p.transistor, int(rng.integers(0, 6)), int(rng.integers(0, 256))) for p in BIAS_PARAMETERS}
            params["SOIF_CC_N"] = _param(rng, Transistor.N, private=True)  # a name the simulator does not model
            neurons = {int(n): _neuron(rng) for n in rng.choice(256, size=neurons_per_core, replace=False)}
            core = Core(
                parameters=params,
                neuron_monitoring_on=bool(rng.random() < 0.5),
                monitored_neuron=int(rng.integers(0, 256)),
                sadc_enables=CoreSadcEnables(**{f.name: bool(rng.random() < 0.5) for f in dataclasses.fields(CoreSadcEnables)}),
                enable_syaw_stdbuf_an=True,
                enable_pulse_extender_monitor2=True,
                core_id=i_core,
                cookie=int(rng.integers(0, 1000)),
            ).with_neurons(neurons)
            cores.append(core)
        chips.append(
            Chip(
                cores=tuple(cores),
                global_parameters=_param_map(rng, ["R2R_BUFFER_CCB", "R2R_BUFFER_AMPB"]),
                shared_parameters01=_param_map(rng, ["LBWR_VB_P"]),
                shared_parameters23={},
                sadc_group_parameters01=tuple(_param_map(rng, ["NCCF_PWLK_P", "NCCF_HYS_P"]) for _ in range(3)),
                sadc_group_parameters23=tuple(_param_map(rng, ["NCCF_BIAS_P"]) for _ in range(3)),
                sadc_enables=ChipSadcEnables(nccf_extin_vi_group0_pg1=True, nccf_cal_refbias_v_group2_pg0=True),
                dvs_if=DvsInterface(
                    drop_events=True,
                    dvs_mode=DvsMode.DAVIS346,
                    on_events=True,
                    pooling_shift=Vec2(1, 2),
                    copy_hop=Vec2(-1, 3),
                    davis_req_ack_bugfix_delay_ns=40,
                    origin=Vec2(5, 6),
                    max=Vec2(345, 259),
                    pixel_destinations=tuple(_destination(rng) for _ in range(3)),
                ),
                bioamps=Bioamps(
                    common_parameters=_param_map(rng, ["BIOAMP_A_N", "BIOAMP_B_P"]),
                    channel_parameters=tuple(_param_map(rng, ["CH_X_N"]) for _ in range(2)),
                    gain=3,
                    separate_parameters=True,
                    monitor_channel_oauc=True,
                    route=(_destination(rng), _destination(rng)),
                ),
                enable_pg1_reference_monitor=True,
                param_gen0_powerdown=True,
            )
        )
    return Configuration(tuple(chips))


# --- the same content in Rockpool's samna_alias dataclasses -------------------------------


@pytest.fixture(scope="module")
def alias():
    """Rockpool's samna alias modules (importing them logs that samna is missing: fine)."""
    from rockpool.devices.dynapse.samna_alias import definitions, modules

    return modules, definitions


class AliasBuilder:
    """Builds Rockpool's alias objects from ours, field by field (equal records share one alias)."""

    def __init__(self, alias):
        self.A, self.D = alias
        self.memo = {}

    def _memo(self, obj, make):
        key = (type(obj), id(obj))
        if key not in self.memo:
            self.memo[key] = (obj, make(obj))
        return self.memo[key][1]

    def parameter(self, p):
        A, D = self.A, self.D
        return A.Dynapse2Parameter(
            type=p.type.value,
            coarse_value=p.coarse_value,
            fine_value=p.fine_value,
            _address=p.address,
            _cookie=p.cookie,
            _initial_type=D.ParameterType.n if p.initial_type is Transistor.N else D.ParameterType.p,
            _switchable_type=p.switchable_type,
        )

    def param_map(self, m):
        return {name: self.parameter(p) for name, p in m.items()}

    def synapse(self, s):
        return self._memo(
            s,
            lambda s: self.A.Dynapse2Synapse(
                dendrite=self.D.Dendrite(s.dendrite.value),
                stp=s.stp,
                weight=list(s.weight),
                precise_delay=s.precise_delay,
                mismatched_delay=s.mismatched_delay,
                tag=s.tag,
            ),
        )

    def destination(self, d):
        return self.A.Dynapse2Destination(core=list(d.core), x_hop=d.x_hop, y_hop=d.y_hop, tag=d.tag)

    def neuron(self, n):
        return self._memo(
            n,
            lambda n: self.A.Dynapse2Neuron(
                synapses=[self.synapse(s) for s in n.synapses],
                destinations=[self.destination(d) for d in n.destinations],
                **{name: getattr(n, name) for name in LATCHES},
            ),
        )

    def core(self, c):
        A = self.A
        e = c.sadc_enables
        sadc = A.Dynapse2Core_CoreSadcEnables(
            soif_mem=e.soif_mem,
            soif_refectory=e.soif_refractory,  # Rockpool's spelling
            soad_dpi=e.soad_dpi,
            soca_dpi=e.soca_dpi,
            deam_edpi=e.deam_edpi,
            deam_idpi=e.deam_idpi,
            denm_edpi=e.denm_edpi,
            denm_idpi=e.denm_idpi,
            dega_idpi=e.dega_idpi,
            desc_idpi=e.desc_idpi,
            sy_w42=e.sy_w42,
            sy_w21=e.sy_w21,
            soho_sogain=e.soho_sogain,
            soho_degain=e.soho_degain,
        )
        return A.Dynapse2Core(
            neurons=[self.neuron(n) for n in c.neurons],
            neuron_monitoring_on=c.neuron_monitoring_on,
            monitored_neuron=c.monitored_neuron,
            parameters=self.param_map(c.parameters),
            sadc_enables=sadc,
            enable_syaw_stdbuf_an=c.enable_syaw_stdbuf_an,
            enable_pulse_extender_monitor1=c.enable_pulse_extender_monitor1,
            enable_pulse_extender_monitor2=c.enable_pulse_extender_monitor2,
            _id=c.core_id,
            _cookie=c.cookie,
        )

    def chip(self, ch):
        A, D = self.A, self.D
        dvs, bio, e = ch.dvs_if, ch.bioamps, ch.sadc_enables
        return A.Dynapse2Chip(
            cores=[self.core(c) for c in ch.cores],
            global_parameters=self.param_map(ch.global_parameters),
            shared_parameters01=self.param_map(ch.shared_parameters01),
            shared_parameters23=self.param_map(ch.shared_parameters23),
            sadc_group_parameters01=[self.param_map(m) for m in ch.sadc_group_parameters01],
            sadc_group_parameters23=[self.param_map(m) for m in ch.sadc_group_parameters23],
            sadc_enables=A.Dynapse2Chip_ConfigSadcEnables(
                nccf_extin_vi_group0_pg1=e.nccf_extin_vi_group0_pg1,
                nccf_cal_refbias_v_group1_pg1=e.nccf_cal_refbias_v_group1_pg1,
                nccf_cal_refbias_v_group2_pg1=e.nccf_cal_refbias_v_group2_pg1,
                nccf_extin_vi_group2_pg1=e.nccf_extin_vi_group2_pg1,
                nccf_extin_vi_group0_pg0=e.nccf_extin_vi_group0_pg0,
                nccf_cal_refbias_v_group1_pg0=e.nccf_cal_refbias_v_group1_pg0,
                nccf_cal_refbias_v_group2_pg0=e.nccf_cal_refbias_v_group2_pg0,
                nccf_extin_vi_group2_pg0=e.nccf_extin_vi_group2_pg0,
            ),
            dvs_if=A.Dynapse2DvsInterface(
                drop_events=dvs.drop_events,
                dvs_mode=D.DvsMode(dvs.dvs_mode.value),
                off_events=dvs.off_events,
                on_events=dvs.on_events,
                pooling_shift=A.Vec2_unsigned_int(dvs.pooling_shift.x, dvs.pooling_shift.y),
                copy_events=dvs.copy_events,
                copy_hop=A.Vec2_int(dvs.copy_hop.x, dvs.copy_hop.y),
                davis_req_ack_bugfix_delay_ns=dvs.davis_req_ack_bugfix_delay_ns,
                origin=A.Vec2_unsigned_int(dvs.origin.x, dvs.origin.y),
                max=A.Vec2_unsigned_int(dvs.max.x, dvs.max.y),
                pixel_destinations=[self.destination(d) for d in dvs.pixel_destinations],
                filter=A.Dynapse2DvsFilter(),
            ),
            bioamps=A.Dynapse2Bioamps(
                common_parameters=self.param_map(bio.common_parameters),
                channel_parameters=[self.param_map(m) for m in bio.channel_parameters],
                param_gen2_powerdown=bio.param_gen2_powerdown,
                gain=bio.gain,
                separate_parameters=bio.separate_parameters,
                monitor_channel_thuc=bio.monitor_channel_thuc,
                monitor_channel_thdc=bio.monitor_channel_thdc,
                monitor_channel_qfruc=bio.monitor_channel_qfruc,
                monitor_channel_oruc=bio.monitor_channel_oruc,
                monitor_channel_osuc=bio.monitor_channel_osuc,
                monitor_channel_oauc=bio.monitor_channel_oauc,
                route=[self.destination(d) for d in bio.route],
            ),
            enable_pg0_reference_monitor=ch.enable_pg0_reference_monitor,
            enable_pg1_reference_monitor=ch.enable_pg1_reference_monitor,
            param_gen0_powerdown=ch.param_gen0_powerdown,
            param_gen1_powerdown=ch.param_gen1_powerdown,
        )

    def configuration(self, config):
        return self.A.Dynapse2Configuration(chips=[self.chip(ch) for ch in config.chips])


def _synapse_from_alias(s):
    return Synapse(Dendrite(int(s.dendrite)), s.stp, tuple(s.weight), s.precise_delay, s.mismatched_delay, s.tag)


def _destination_from_alias(d):
    return Destination(tuple(d.core), d.x_hop, d.y_hop, d.tag)


# --- THE KEY TEST: our text is Rockpool's text ----------------------------------------------


@pytest.mark.parametrize("n_chips", [1, 2])
def test_json_text_equals_rockpool_samna_alias(alias, n_chips):
    ours = make_config(n_chips, seed=n_chips)
    theirs = AliasBuilder(alias).configuration(ours).to_json()
    text = ours.to_json()
    assert text == theirs
    assert Configuration.from_json(theirs) == ours


def test_each_record_alone_equals_rockpool_samna_alias(alias):
    config = make_config(1, seed=7)
    build = AliasBuilder(alias)
    core = config.core(0, 2)
    neuron = next(n for n in core.neurons if n.is_used)
    synapse = next(s for s in neuron.synapses if s.is_used) if any(s.is_used for s in neuron.synapses) else neuron.synapses[0]
    destination = Destination((True, False, True, False), -7, 3, 2047)
    parameter = core.parameters["SOIF_CC_N"]
    for ours, theirs in [  # (the chip is covered by the configuration test)
        (core, build.core(core)),
        (neuron, build.neuron(neuron)),
        (synapse, build.synapse(synapse)),
        (destination, build.destination(destination)),
        (parameter, build.parameter(parameter)),
    ]:
        text = to_json(ours)
        assert text == theirs.to_json(), type(ours).__name__
        assert from_json(text, type(ours)) == ours
        assert to_json(from_json(text, type(ours))) == text


def test_rockpool_allocator_content_gives_the_same_text(alias):
    """CAM/SRAM content from Rockpool's own config builder (``WeightAllocator``, alias mode)."""
    from rockpool.devices.dynapse.hardware.config.allocator import WeightAllocator

    A, _ = alias
    rng = np.random.default_rng(3)
    n_in, n_rec = 8, 12
    w_in = rng.integers(1, 16, (n_in, n_rec)) * (rng.random((n_in, n_rec)) < 0.5)
    w_rec = rng.integers(1, 16, (n_rec, n_rec)) * (rng.random((n_rec, n_rec)) < 0.3)
    allocator = WeightAllocator(
        weights_in=w_in,
        weights_rec=w_rec,
        sign_in=rng.choice([-1, 1], (n_in, n_rec)),
        sign_rec=rng.choice([-1, 1], (n_rec, n_rec)),
        core_map=[0] * n_rec,
    )
    cam = allocator.CAM_content(use_samna=False)
    sram = allocator.SRAM_content(use_samna=False, monitor_neurons=list(range(n_rec)))
    dc = {1, 5}

    ours = Configuration.empty(1)
    core = ours.core(0, 0).with_neurons(
        {
            n: Neuron(
                synapses=tuple(_synapse_from_alias(s) for s in cam[n]),
                destinations=tuple(_destination_from_alias(d) for d in sram[n]),
                latch_so_dc=n in dc,
            )
            for n in range(n_rec)
        }
    )
    ours = ours.with_core(0, 0, core)

    theirs = AliasBuilder(alias).core(core)  # a whole core: the text of a chip is 4 of these
    for n in range(n_rec):  # Rockpool's own objects, as from_spec would assign them
        theirs.neurons[n] = A.Dynapse2Neuron(
            synapses=cam[n],
            destinations=sram[n],
            **{name: (name == "latch_so_dc" and n in dc) for name in LATCHES},
        )
    assert to_json(core) == theirs.to_json()
    summary = ours.summary().core(0, 0)
    assert summary.neurons_with_synapses == sum(any(int(s.dendrite) for s in cam[n]) for n in range(n_rec))
    assert summary.neurons_with_destinations == n_rec  # every neuron has its monitor entry (hop -7)
    assert summary.latches_on == {"latch_so_dc": 2}


def test_rockpool_alias_default_initial_type_is_read(alias):
    """The alias writes a parameter built without ``_initial_type`` as ``"_initialType": "N"``
    (a string); samna writes its ParameterType enum as a number. We read both and write the number."""
    A, _ = alias
    text = A.Dynapse2Parameter("N", 3, 200).to_json()
    assert '"_initialType": "N"' in text
    parameter = from_json(text, Parameter)
    assert parameter == Parameter(Transistor.N, 3, 200)
    assert to_json(parameter) == text.replace('"_initialType": "N"', '"_initialType": 1')


# --- round trips -----------------------------------------------------------------------------


def test_round_trip_configuration():
    config = make_config(2, seed=11)
    text = to_json(config)
    back = from_json(text)
    assert back == config
    assert to_json(back) == text


def test_layout_is_json_dumps_with_4_space_indent():
    core = make_config(1, seed=2).core(0, 1)
    text = to_json(core)
    assert text == json.dumps(json.loads(text), indent="    ")


def test_round_trip_shares_equal_entries():
    back = from_json(Configuration.empty(2).to_json())
    synapses = {id(s) for chip in back.chips for core in chip.cores for n in core.neurons for s in n.synapses}
    assert len(synapses) == 1


def test_empty_configuration_content():
    config = Configuration.empty(2)
    assert len(config.chips) == 2
    for chip in config.chips:
        assert len(chip.cores) == 4
        for core in chip.cores:
            assert len(core.neurons) == 256
            assert dict(core.parameters) == {p.name: Parameter(p.transistor, 0, 0) for p in BIAS_PARAMETERS}
            assert core.parameters == default_core_parameters()
            assert list(core.parameters) == sorted(core.parameters)
            for neuron in core.neurons:
                assert all(s == Synapse() and s.dendrite is Dendrite.NONE and s.tag == 0 for s in neuron.synapses)
                assert all(d == Destination() for d in neuron.destinations)
                assert not neuron.is_used
    assert list(config.used_synapses()) == [] and list(config.used_destinations()) == []
    data = json.loads(config.to_json())
    blank = data["value0"]["chips"][1]["cores"]["value3"]["neurons"]["value255"]
    assert blank["synapses"]["value63"] == {
        "dendrite": 0,
        "stp": False,
        "weight": {"value0": False, "value1": False, "value2": False, "value3": False},
        "preciseDelay": False,
        "mismatchedDelay": False,
        "tag": 0,
    }
    leak = next(e for e in data["value0"]["chips"][0]["cores"]["value0"]["parameters"] if e["key"] == "SOIF_LEAK_N")
    assert leak["value"] == {
        "type": ord("N"),
        "coarseValue": 0,
        "fineValue": 0,
        "_address": 0,
        "_cookie": 0,
        "_initialType": 1,
        "_switchableType": False,
    }


def test_empty_four_chip_configuration_is_complete():
    # Its speed is measured in benchmarks/ (docs/benchmarks.md), never asserted here.
    config = Configuration.empty(4)
    text = config.to_json()
    assert len(text) > 100_000_000  # ~200 MB: 262,144 CAM entries, indented
    assert text.count('"dendrite": 0') == 4 * 4 * 256 * 64


# --- access, change, summary -----------------------------------------------------------------


def _small_config():
    config = Configuration.empty(2)
    n0 = Neuron.from_entries(
        [Synapse(Dendrite.AMPA, weight=(True, False, False, False), tag=10), Synapse(Dendrite.GABA, tag=11)],
        [Destination((True, True, False, False), 0, 0, 100)],
        latch_so_dc=True,
    )
    n1 = Neuron.from_entries([Synapse(Dendrite.NMDA, tag=10)] * 3)
    n2 = Neuron(latch_so_adaptation=True)
    config = config.with_neuron(0, 1, 7, n0).with_neuron(0, 1, 8, n1).with_neuron(1, 3, 255, n2)
    return config.with_parameters(1, 2, {"SOIF_LEAK_N": BiasCode(2, 40), "DEAM_ETAU_P": (1, 7)})


def test_accessors_and_updates():
    config = _small_config()
    assert config.neuron(0, 1, 7).synapses[0].tag == 10
    assert config.neuron(0, 1, 7).latch_so_dc
    assert config.neuron(0, 0, 7) == Neuron()
    assert config.core(1, 2).parameters["SOIF_LEAK_N"] == Parameter(Transistor.N, 2, 40)
    assert config.core(1, 2).codes()["DEAM_ETAU_P"] == BiasCode(1, 7)
    assert config.core(1, 1).parameters["SOIF_LEAK_N"].code == BiasCode(0, 0)
    used = list(config.used_synapses())
    assert [tuple(loc) for loc, _ in used] == [(0, 1, 7, 0), (0, 1, 7, 1), (0, 1, 8, 0), (0, 1, 8, 1), (0, 1, 8, 2)]
    assert [s.dendrite for _, s in used] == [Dendrite.AMPA, Dendrite.GABA] + [Dendrite.NMDA] * 3
    assert [tuple(loc) for loc, _ in config.used_destinations()] == [(0, 1, 7, 0)]
    assert used[0][1].weight_mask == 1
    # updates return new trees and share what did not change
    assert config.chips[1].cores[0] is Configuration.empty(2).chips[1].cores[0]
    n = config.neuron(0, 1, 7).with_synapse(63, Synapse(Dendrite.SHUNT, tag=2047)).with_destination(3, Destination((False,) * 3 + (True,), -7, 7, 1))
    assert n.synapses[63].tag == 2047 and n.destinations[3].x_hop == -7
    assert Core().with_parameters({"SOIF_CC_N": Parameter("N", 1, 1)}).parameters["SOIF_CC_N"].type is Transistor.N


def test_summary_counts():
    summary = _small_config().summary()
    core = summary.core(0, 1)
    assert (core.neurons_used, core.neurons_with_synapses, core.neurons_with_destinations) == (2, 2, 1)
    assert (core.cam_entries_used, core.max_cam_entries_used, core.destinations_used) == (5, 3, 1)
    assert core.cam_tags == {10, 11} and core.destination_tags == {100}
    assert core.latches_on == {"latch_so_dc": 1}
    other = summary.core(1, 3)
    assert (other.neurons_used, other.neurons_with_synapses, other.cam_entries_used) == (1, 0, 0)
    assert other.latches_on == {"latch_so_adaptation": 1}
    assert summary.chips[0].neurons_used == 2 and summary.chips[1].neurons_used == 1
    assert summary.chips[0].cam_tags == {10, 11}
    assert (summary.neurons_used, summary.cam_entries_used, summary.destinations_used) == (3, 5, 1)
    text = str(summary)
    assert "chip 0: 2 of 1024 neurons used, 5 CAM entries, 2 of 2048 tags listened to, 1 sent" in text
    assert "latch_so_dc=1" in text


def test_summary_of_random_configuration_matches_a_direct_count():
    config = make_config(1, seed=5)
    core = config.core(0, 3)
    s = config.summary().core(0, 3)
    assert s.cam_entries_used == sum(syn.is_used for n in core.neurons for syn in n.synapses)
    assert s.destinations_used == sum(d.is_used for n in core.neurons for d in n.destinations)
    assert s.cam_entries_used == sum(1 for loc, _ in config.used_synapses() if loc.core == 3)


def test_repr_is_short():
    config = make_config(1)
    assert len(repr(config)) < 100 and len(repr(config.chips[0])) < 500
    assert "synapses used=" in repr(config.neuron(0, 0, 0))


# --- validation: one test per named error ------------------------------------------------------


@pytest.mark.parametrize("tag", [-1, 2048, 1.0, True])
def test_tag_out_of_range(tag):
    with pytest.raises(ParameterValueError, match=r"`tag` must be an integer in 0\.\.2047"):
        Synapse(Dendrite.AMPA, tag=tag)
    with pytest.raises(ParameterValueError, match=r"`tag` must be an integer in 0\.\.2047"):
        Destination(tag=tag)


@pytest.mark.parametrize("name", ["x_hop", "y_hop"])
@pytest.mark.parametrize("hop", [-8, 8])
def test_hop_out_of_range(name, hop):
    with pytest.raises(ParameterValueError, match=rf"`{name}` must be an integer in -7\.\.7; got {hop}"):
        Destination(**{name: hop})


def test_masks_need_four_entries():
    with pytest.raises(ShapeError, match=r"`weight` must have shape \(4,\); got \(3,\)"):
        Synapse(weight=(True, False, True))
    with pytest.raises(ShapeError, match=r"`core` must have shape \(4,\); got \(5,\)"):
        Destination(core=(True,) * 5)
    with pytest.raises(ParameterValueError, match=r"`weight\[1\]` must be a bool"):
        Synapse(weight=(True, 2, False, False))
    assert Synapse(weight=np.array([1, 0, 0, 1], bool)).weight == (True, False, False, True)


def test_wrong_list_lengths():
    with pytest.raises(ShapeError, match=r"`synapses` must have shape \(64,\); got \(63,\)"):
        Neuron(synapses=(Synapse(),) * 63)
    with pytest.raises(ShapeError, match=r"`destinations` must have shape \(4,\); got \(5,\)"):
        Neuron(destinations=(Destination(),) * 5)
    with pytest.raises(ShapeError, match=r"`synapses` must have shape \(64,\); got \(65,\)"):
        Neuron.from_entries([Synapse()] * 65)
    with pytest.raises(ShapeError, match=r"`neurons` must have shape \(256,\); got \(255,\)"):
        Core(neurons=(Neuron(),) * 255)
    with pytest.raises(ShapeError, match=r"`cores` must have shape \(4,\); got \(3,\)"):
        Chip(cores=(Core(),) * 3)


def test_wrong_record_types():
    with pytest.raises(ParameterValueError, match=r"`synapses\[2\]` must be a Synapse"):
        Neuron(synapses=(Synapse(),) * 2 + (Destination(),) + (Synapse(),) * 61)
    with pytest.raises(ParameterValueError, match=r"`chips\[0\]` must be a Chip"):
        Configuration((Core(),))
    with pytest.raises(ParameterValueError, match=r"`latch_so_dc` must be a bool; got 1"):
        Neuron(latch_so_dc=1)
    for bad in (3, 1024.0, "AMPA", True):
        with pytest.raises(ParameterValueError, match=r"`dendrite` must be one of NONE=0, AMPA=1024"):
            Synapse(dendrite=bad)
    assert Synapse(dendrite=np.int64(256)).dendrite is Dendrite.NMDA
    with pytest.raises(ParameterValueError, match=r"`monitored_neuron` must be an integer in 0\.\.255; got 256"):
        Core(monitored_neuron=256)
    with pytest.raises(ParameterValueError, match=r"`parameters\['SOIF_LEAK_N'\]` must be a Parameter"):
        Core(parameters={"SOIF_LEAK_N": (1, 2)})
    with pytest.raises(ParameterValueError, match=r"`dvs_mode` must be one of DVS128=0"):
        DvsInterface(dvs_mode=1)
    with pytest.raises(ParameterValueError, match=r"`origin.x` must be an integer in 0\.\.4294967295; got -1"):
        DvsInterface(origin=Vec2(-1, 0))


@pytest.mark.parametrize(
    "field, value, high",
    [("coarse_value", 6, 5), ("coarse_value", -1, 5), ("fine_value", 256, 255), ("fine_value", 1.5, 255), ("coarse_value", True, 5)],
)
def test_bias_code_out_of_range(field, value, high):
    kwargs = {"coarse_value": 0, "fine_value": 0, field: value}
    with pytest.raises(BiasCodeError, match=rf"`{field}` must be an integer in 0\.\.{high}; got {value!r}"):
        Parameter(Transistor.N, **kwargs)
    with pytest.raises(BiasCodeError):
        Core().with_parameters({"SOIF_LEAK_N": (9, 0)})


@pytest.mark.parametrize("bad", ["X", "n", 78, None])
def test_parameter_type_must_be_n_or_p(bad):
    with pytest.raises(ParameterValueError, match=r"`type` must be 'N' or 'P'"):
        Parameter(bad, 0, 0)
    with pytest.raises(ParameterValueError, match=r"`initial_type` must be 'N' or 'P'"):
        Parameter("P", 0, 0, initial_type=bad if bad is not None else "Q")


def test_unknown_parameter_names_are_allowed_but_need_a_type():
    core = Core(parameters={"ANY_SAMNA_NAME": Parameter("P", 1, 2)})
    assert core.parameters["ANY_SAMNA_NAME"].type is Transistor.P
    with pytest.raises(UnknownParameterError, match="ANY_OTHER"):
        core.with_parameters({"ANY_OTHER": (1, 1)})


def test_index_out_of_range():
    config = Configuration.empty(1)
    with pytest.raises(ParameterValueError, match=r"`chip` must be an integer in 0\.\.0; got 1"):
        config.neuron(1, 0, 0)
    with pytest.raises(ParameterValueError, match=r"`neuron` must be an integer in 0\.\.255; got 256"):
        config.neuron(0, 0, 256)
    with pytest.raises(ParameterValueError, match=r"`n_chips` must be an integer in 1\.\.4; got 5"):
        Configuration.empty(5)


def test_records_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Synapse().tag = 3
    with pytest.raises(TypeError):
        Core().parameters["SOIF_LEAK_N"] = Parameter("N", 1, 1)


# --- validation of JSON input: named errors with the path ------------------------------------


def _edit(document, changes):
    """``document`` (parsed JSON) with ``{"a/b/c": value}`` set (``KeyError``: deleted), as text."""
    for path, value in changes.items():
        *head, last = path.split("/")
        node = document
        for key in head:
            node = node[int(key) if isinstance(node, list) else key]
        if value is KeyError:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value
    return json.dumps(document)


def _neuron_json(**changes):
    """A blank neuron's JSON document with ``changes`` (keys as paths ``"synapses/value3/tag"``)."""
    return _edit(json.loads(to_json(Neuron())), {"value0/" + k: v for k, v in changes.items()})


def test_json_path_names_chip_core_and_neuron():
    """In a whole configuration, the error names the path from the document root."""
    data = json.loads(Configuration.empty(1).to_json())
    text = _edit(data, {"value0/chips/0/cores/value2/neurons/value9/synapses/value5/tag": 4096})
    path = r"value0\.chips\[0\]\.cores\.value2\.neurons\.value9\.synapses\.value5\.tag"
    with pytest.raises(ParameterValueError, match=path + r"` must be an integer in 0\.\.2047; got 4096"):
        from_json(text)


def test_json_malformed():
    with pytest.raises(ParameterValueError, match=r"`JSON text` must be valid JSON; got Expecting"):
        from_json('{"value0": ')
    with pytest.raises(ParameterValueError, match=r"`JSON document` must be an object \{\"value0\": \.\.\.\}"):
        from_json('{"chips": []}')


def test_json_missing_field():
    with pytest.raises(ParameterValueError, match=r"`value0\.synapses\.value3\.tag` must be present; got nothing"):
        from_json(_neuron_json(**{"synapses/value3/tag": KeyError}), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.latchSoDc` must be present"):
        from_json(_neuron_json(latchSoDc=KeyError), Neuron)


def test_json_extra_or_mistyped_field():
    with pytest.raises(ParameterValueError, match=r"`value0\.bogus` must be absent"):
        from_json(_neuron_json(bogus=1), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.destinations\.value1\.xHop` must be a JSON integer; got '3'"):
        from_json(_neuron_json(**{"destinations/value1/xHop": "3"}), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.latchSoDc` must be a JSON boolean; got 1"):
        from_json(_neuron_json(latchSoDc=1), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.synapses\.value0\.dendrite` must be one of 0 \(NONE\)"):
        from_json(_neuron_json(**{"synapses/value0/dendrite": 3}), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.synapses\.value0\.weight` must be a JSON object"):
        from_json(_neuron_json(**{"synapses/value0/weight": [True] * 4}), Neuron)


def test_json_value_out_of_range():
    with pytest.raises(ParameterValueError, match=r"`value0\.synapses\.value5\.tag` must be an integer in 0\.\.2047; got -1"):
        from_json(_neuron_json(**{"synapses/value5/tag": -1}), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.destinations\.value0\.yHop` must be an integer in -7\.\.7; got 9"):
        from_json(_neuron_json(**{"destinations/value0/yHop": 9}), Neuron)


def test_json_wrong_length():
    with pytest.raises(ShapeError, match=r"`value0\.synapses` must have shape \(64,\); got \(63,\)"):
        from_json(_neuron_json(**{"synapses/value63": KeyError}), Neuron)
    with pytest.raises(ShapeError, match=r"`value0\.synapses\.value2\.weight` must have shape \(4,\); got \(3,\)"):
        from_json(_neuron_json(**{"synapses/value2/weight/value3": KeyError}), Neuron)
    with pytest.raises(ParameterValueError, match=r"`value0\.destinations` must be keys \"value0\", \"value1\", \.\.\. in order"):
        from_json(_neuron_json(**{"destinations/value1": KeyError}), Neuron)


def test_json_parameters():
    data = json.loads(to_json(Core(neurons=(Neuron(),) * 256)))
    params = data["value0"]["parameters"]
    where = r"value0\.parameters\[3\]"
    params[3]["value"]["coarseValue"] = 7
    with pytest.raises(BiasCodeError, match=r"`coarseValue` \(" + where + r"\.value\.coarseValue\) must be an integer in 0\.\.5; got 7"):
        from_json(json.dumps(data), Core)
    params[3]["value"]["coarseValue"] = 0
    params[3]["value"]["type"] = ord("X")
    with pytest.raises(ParameterValueError, match=where + r"\.value\.type` must be 78 \(N\) or 80 \(P\); got 88"):
        from_json(json.dumps(data), Core)
    params[3]["value"]["type"] = ord("N")
    params[4]["key"] = params[3]["key"]
    with pytest.raises(ParameterValueError, match=r"parameters\[4\]\.key` must be unique in its map"):
        from_json(json.dumps(data), Core)
    params[4]["key"] = "ANOTHER_NAME"
    assert from_json(json.dumps(data), Core).parameters["ANOTHER_NAME"] == Parameter("P", 0, 0)


def test_json_wrong_kind():
    with pytest.raises(ParameterValueError, match=r"`value0\.synapses` must be present"):
        from_json(to_json(Synapse()), Neuron)
    with pytest.raises(ParameterValueError, match=r"`kind` must be one of Configuration"):
        from_json(to_json(Synapse()), int)
    with pytest.raises(ParameterValueError, match=r"`node` must be a Configuration"):
        to_json({"value0": 1})


def test_every_error_is_a_named_error():
    for text in ["", "[]", '{"value0": []}', '{"value0": {"chips": {}}}', '{"value0": {"chips": [1]}}']:
        with pytest.raises(Dynapse2Error):
            from_json(text)


# --- deployment without samna ------------------------------------------------------------------


def test_to_samna_without_the_adapter(monkeypatch):
    monkeypatch.setitem(sys.modules, "rockpool_dynapse2._samna.adapter", None)  # "not installed"
    with pytest.raises(SamnaNotAvailableError, match="deployment needs SynSense's samna"):
        Configuration.empty(1).to_samna()


def test_to_samna_passes_our_json_to_the_adapter(monkeypatch):
    import types

    seen = []
    fake = types.ModuleType("rockpool_dynapse2._samna.adapter")
    fake.configuration_to_samna = lambda text: seen.append(text) or "samna object"
    monkeypatch.setitem(sys.modules, "rockpool_dynapse2._samna.adapter", fake)
    config = _small_config()
    assert config.to_samna() == "samna object"
    assert seen == [config.to_json()]


def test_to_samna_here_raises_and_never_imports_samna():
    code = (
        "import sys\n"
        "from rockpool_dynapse2.config import Configuration\n"
        "from rockpool_dynapse2.errors import SamnaNotAvailableError\n"
        "try:\n"
        "    Configuration.empty(1).to_samna()\n"
        "except SamnaNotAvailableError as error:\n"
        "    assert 'samna' in str(error)\n"
        "else:\n"
        "    raise AssertionError('to_samna() worked without samna')\n"
        "assert 'samna' not in sys.modules, 'samna was imported'\n"
        "assert 'rockpool.devices.dynapse' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
