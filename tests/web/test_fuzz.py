"""Fuzz the API from its own OpenAPI schema (schemathesis): valid and invalid bodies alike
get a documented status with a body that matches the schema, never a 500.

Bounded and deterministic: a fixed number of examples per operation, derandomized, no
example database, so the test costs the same on every run.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from shapetrace.web.app import create_app

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=30, deterministic=True, database="none")
schema.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_from_its_schema(case):
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code < 500


# ---------------------------------------------------------------- specs built from the catalog
# The schema lets any argument name through (the core rejects unknown ones), so most of
# schemathesis's valid bodies stop at validation. These specs use the real layers and their
# real argument names with odd values (negative, zero, huge, wrong types, tuples of the wrong
# length), so the layer rules themselves are exercised through the API.

import json  # noqa: E402

import pytest  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from shapetrace.core.layers import REGISTRY  # noqa: E402

SINGLE_INPUT = sorted(n for n, d in REGISTRY.items() if d.n_inputs == 1)
ODD_INTS = st.one_of(st.integers(-3, 70), st.sampled_from([0, 1, 2**31 - 1, -(2**31) + 1, 4096]))
VALUES = st.one_of(
    ODD_INTS,
    st.lists(ODD_INTS, min_size=0, max_size=4),
    st.sampled_from(["same", "valid", "zeros", "reflect", "nearest", "bilinear", "mean", "", "x"]),
    st.booleans(), st.none(),
    st.floats(-5, 1e6, allow_nan=False),
    st.lists(st.one_of(st.none(), ODD_INTS), min_size=1, max_size=3),
)


@st.composite
def layer(draw):
    name = draw(st.sampled_from(SINGLE_INPUT))
    args = REGISTRY[name].arg_names
    chosen = draw(st.lists(st.sampled_from(args), unique=True, max_size=min(4, len(args)))) if args else []
    return {"type": name, **{a: draw(VALUES) for a in chosen}}


@st.composite
def node(draw, depth=0):
    kind = draw(st.sampled_from(["layer"] * 6 + (["Residual", "Concat", "Sequential"] if depth < 2 else [])))
    if kind == "layer":
        return draw(layer())
    inner = st.lists(node(depth + 1), min_size=1, max_size=3)
    if kind == "Residual":
        return {"type": "Residual", "body": draw(inner), **({"shortcut": draw(inner)} if draw(st.booleans()) else {})}
    if kind == "Concat":
        return {"type": "Concat", "dim": draw(st.integers(-5, 4)), "branches": draw(st.lists(inner, min_size=1, max_size=3))}
    return {"type": "Sequential", "layers": draw(inner)}


SPECS = st.fixed_dictionaries({
    "input": st.lists(st.one_of(st.integers(1, 40), st.sampled_from([2**31 - 1, 1000])), min_size=1, max_size=6),
    "layers": st.lists(node(), min_size=1, max_size=5)})


@pytest.fixture(scope="module")
def quick_client():
    """The app with a 1 s deadline: specs that would take longer are stopped sooner."""
    import warnings

    from shapetrace.web.limits import Limits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(Limits(max_seconds=1.0)))


@given(spec=SPECS)
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_odd_arguments_of_real_layers(quick_client, spec):
    r = quick_client.post("/api/flow", content=json.dumps(spec), headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), (r.status_code, r.text)
    body = r.json()
    if r.status_code == 422:
        # The server's last line of defence says "please report": a gap in the core.
        assert "please report" not in body["detail"] and "invalid spec (" not in body["detail"], body["detail"]
    else:
        err = body["error"]
        assert err is None or (err["message"] and err["row"]), err
