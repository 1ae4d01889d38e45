"""The topology file's two validation paths mean the same thing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from orchestrator.graph.build import from_topology
from orchestrator.graph.topology import Topology, plain_services

NAMES = st.sampled_from(["a", "b", "c", "module.a.*", "x[*]"])
ODD = st.one_of(st.none(), st.integers(), st.booleans(), st.floats(allow_nan=False), NAMES)
LISTS = st.one_of(
    st.lists(NAMES, max_size=3),
    st.lists(ODD, max_size=3),
    st.tuples(NAMES),
    NAMES,
    ODD,
)
SERVICE = st.dictionaries(
    st.sampled_from(["criticality", "depends_on", "owns", "critcality"]),
    st.one_of(st.sampled_from(["low", "medium", "high", "critical", "urgent"]), LISTS),
    max_size=3,
)
WELL_FORMED = st.fixed_dictionaries(
    {},
    optional={
        "criticality": st.sampled_from(["low", "medium", "high", "critical"]),
        "depends_on": st.lists(NAMES, max_size=3),
        "owns": st.lists(NAMES, max_size=3),
    },
)
MESSY = st.dictionaries(
    st.sampled_from(["services", "populations", "servces"]),
    st.one_of(
        st.dictionaries(NAMES, WELL_FORMED, max_size=4),
        st.dictionaries(NAMES, st.one_of(WELL_FORMED, SERVICE, ODD), max_size=4),
        st.dictionaries(NAMES, st.one_of(st.integers(), st.booleans(), ODD), max_size=3),
        ODD,
    ),
    max_size=2,
)
TOPOLOGY = st.one_of(
    st.fixed_dictionaries(
        {"services": st.dictionaries(NAMES, WELL_FORMED, min_size=1, max_size=5)},
        optional={"populations": st.dictionaries(NAMES, st.integers(), max_size=2)},
    ),
    MESSY,
)


@settings(deadline=None, max_examples=500)
@given(TOPOLOGY)
def test_plain_path_accepts_only_what_the_model_accepts_and_reads_it_alike(data: Any) -> None:
    """Whatever the one-pass reader accepts, pydantic accepts, with the same services and sizes."""
    plain = plain_services(data)
    if plain is None:
        return
    topology = Topology.model_validate(data)
    services, populations = plain
    as_tuples = [(n, r, tuple(d), tuple(o)) for n, r, d, o in services]
    assert as_tuples == from_topology(topology)
    assert populations == topology.populations


@settings(deadline=None, max_examples=300)
@given(TOPOLOGY)
def test_plain_shapes_the_model_accepts_take_the_plain_path(data: Any) -> None:
    """A valid file of lists and strings never pays for the slow path."""
    try:
        Topology.model_validate(data)
    except ValidationError:
        return
    plain_shapes = all(
        isinstance(spec, dict)
        and all(isinstance(v, list) for k, v in spec.items() if k != "criticality")
        for spec in (data.get("services") or {}).values()
    ) and all(type(v) is int for v in (data.get("populations") or {}).values())
    if plain_shapes:
        assert plain_services(data) is not None
