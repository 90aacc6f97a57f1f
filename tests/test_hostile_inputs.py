"""Issue 14: each input class refused at the boundary where it enters (core/loading.py for
YAML/JSON text, core/layers/base.bind for layer arguments, cli/_common for options, atomic.py
for output files), as one `error:` line with exit 2 (1 for a shape torch refuses)."""

from __future__ import annotations

import math
import os
import stat

import pytest
import torch
from hypothesis import given, settings, strategies as st

import shapetrace
from shapetrace.core.errors import ArgumentError, ShapeError, SpecError
from shapetrace.core.spec import parse_spec
from shapetrace.core.loading import MAX_DEPTH, TooDeep, json_depth_ok, load_json, load_yaml
from tests.cli_run import one_line_error, run

SPEC = "input: [1, 1, 4, 4]\nlayers:\n  - {type: Conv2d, out_channels: 2, kernel_size: 3}\n"


# --------------------------------------------------------------------------- nesting


@settings(max_examples=20)
@given(depth=st.integers(MAX_DEPTH + 1, 20_000), opener=st.sampled_from(["[", "{\"a\":"]))
def test_deep_json_is_refused_before_parsing(depth, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    with pytest.raises(TooDeep):
        load_json(text)
    with pytest.raises(TooDeep):
        load_yaml(text)  # flow style YAML is the same text


@settings(max_examples=20)
@given(depth=st.integers(1, MAX_DEPTH))
def test_nesting_within_the_bound_loads(depth):
    text = "[" * depth + "]" * depth
    assert json_depth_ok(text)
    assert load_json(text) == load_yaml(text)


def test_brackets_inside_strings_do_not_count():
    text = '{"a": "' + "[" * 10_000 + '"}'
    assert load_json(text) == {"a": "[" * 10_000}


def test_deep_block_yaml_is_refused():
    text = "- " * (MAX_DEPTH + 5) + "1\n"  # block sequences, each inside the last
    with pytest.raises(TooDeep):
        load_yaml(text)
    assert load_yaml("- " * MAX_DEPTH + "1\n") is not None


def test_deep_spec_file_is_one_line_exit_2(tmp_path, capsys):
    p = tmp_path / "deep.json"
    p.write_text('{"input": [1, 1, 4, 4], "layers": ' + "[" * 10_000 + "]" * 10_000 + "}")
    code, _, err = run(["summary", p], capsys)
    one_line_error(code, err, "nested more than")


# --------------------------------------------------------------------------- scalars


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_yaml_reads_floats_as_json_does(x):
    for text in (repr(x), f"{x:e}", f"{x:E}"):
        assert load_yaml(text) == load_json(text.replace("E", "e")) == float(text)


@pytest.mark.parametrize("text,value", [("5e-1", 0.5), ("2e0", 2.0), ("1E3", 1000.0), (".inf", math.inf),
                                        ("010", 10), ("0o10", 8), ("0x10", 16), ("1:20", "1:20"),
                                        ("no", "no"), ("yes", "yes"), ("true", True), ("~", None),
                                        ("2001-12-14", "2001-12-14")])
def test_yaml_1_2_core_scalars(text, value):
    assert load_yaml(text) == value


def test_cli_value_in_exponent_form(capsys):
    code, out, _ = run(["layer", "Dropout", "-i", "1,4", "p=5e-1", "--json"], capsys)
    assert code == 0 and '"p": 0.5' in out
    code, out, _ = run(["layer", "Upsample", "-i", "1,1,4,4", "scale_factor=2e0", "--json"], capsys)
    assert code == 0 and "[\n    1,\n    1,\n    8,\n    8\n  ]" in out


def test_key_given_twice_is_an_error(tmp_path, capsys):
    code, _, err = run(["layer", "Conv2d", "-i", "1,1,4,4", "out_channels=1", "kernel_size=1",
                        "kernel_size=2"], capsys)
    one_line_error(code, err, "'kernel_size' is given twice")
    code, _, err = run(["summary", "seed", "--kwargs", "a=1,a=2"], capsys)
    one_line_error(code, err, "'a' is given twice")
    for name, text in (("d.json", '{"input": [1, 1, 4, 4], "input": [1], "layers": []}'),
                       ("d.yaml", "input: [1, 1, 4, 4]\ninput: [1]\nlayers: []\n")):
        (tmp_path / name).write_text(text)
        code, _, err = run(["summary", tmp_path / name], capsys)
        one_line_error(code, err, "'input' is given twice")


def test_json_spec_with_a_bom_is_read_like_yaml(tmp_path, capsys):
    for name, body in (("b.json", '{"input": [1, 1, 4, 4], "layers": [{"type": "ReLU"}]}'),
                       ("b.yaml", "input: [1, 1, 4, 4]\nlayers: [{type: ReLU}]\n")):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + body.encode())
        code, _, err = run(["summary", tmp_path / name, "-f", "csv"], capsys)
        assert code == 0, err


def test_fifo_spec_is_refused_without_opening(tmp_path, capsys):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # opening it for reading would block forever: no writer
    code, _, err = run(["summary", fifo], capsys)
    one_line_error(code, err, "not a regular file")


# --------------------------------------------------------------------------- huge integers


HUGE = st.one_of(st.integers(2**63, 2**200), st.integers(-(2**200), -(2**63) - 1))


@settings(max_examples=25)
@given(v=HUGE, arg=st.sampled_from(["stride", "padding", "dilation", "kernel_size", "out_channels"]))
def test_ints_beyond_int64_are_refused_as_torch_refuses(v, arg):
    kw = {"out_channels": 1, "kernel_size": 1, arg: v}
    with pytest.raises((TypeError, ValueError, RuntimeError, OverflowError)):
        torch.nn.Conv2d(1, **kw)(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ArgumentError, match="beyond the int64 range"):
        shapetrace.output_shape("Conv2d", (1, 1, 4, 4), **kw)
    with pytest.raises(ArgumentError, match="beyond the int64 range"):
        shapetrace.output_shape("Conv2d", (1, 1, 4, 4), **{**kw, arg: (1, v)})


def test_int64_max_itself_is_accepted_as_torch_accepts_it():
    m = torch.nn.Conv2d(1, 1, 1, stride=2**63 - 1)
    assert shapetrace.output_shape("Conv2d", (1, 1, 4, 4), out_channels=1, kernel_size=1,
                                   stride=2**63 - 1) == tuple(m(torch.zeros(1, 1, 4, 4)).shape)


@settings(max_examples=25)
@given(v=st.integers(2**63, 10**40))
def test_huge_input_size_is_refused_everywhere(v):
    with pytest.raises(ArgumentError, match="int64"):
        shapetrace.output_shape("ReLU", (v, 1))
    with pytest.raises(SpecError, match="int64"):
        parse_spec({"input": [v, 1], "layers": []})


def test_huge_integers_on_the_command_line(capsys):
    code, _, err = run(["summary", "--input", "9223372036854775808,1,28,28"], capsys)
    one_line_error(code, err, "2**63 - 1")
    code, _, err = run(["summary", "--input", "9" * 5000 + ",1"], capsys)
    one_line_error(code, err, "2**63 - 1")
    code, _, err = run(["layer", "Conv2d", "-i", "1,1,4,4", "out_channels=1", "kernel_size=1",
                        f"stride={2**64}"], capsys)
    one_line_error(code, err, "stride is beyond the int64 range")
    code, _, err = run(["summary", "examples/seed.yaml", "--depth", "99999999999999999999"], capsys)
    one_line_error(code, err, "--depth is beyond the 64-bit integer range")


# --------------------------------------------------------------------------- non-finite floats


@given(v=st.sampled_from([math.inf, -math.inf, math.nan, 1e308, 1e200, -1e300]))
def test_non_finite_scale_factor_is_refused_where_torch_refuses(v):
    with pytest.raises(RuntimeError):
        torch.nn.Upsample(scale_factor=v)(torch.zeros(1, 1, 4, 4, device="meta"))
    with pytest.raises(ShapeError):  # a ShapeError or its ArgumentError, never an OverflowError
        shapetrace.output_shape("Upsample", (1, 1, 4, 4), scale_factor=v)
    with pytest.raises(ShapeError):
        shapetrace.output_shape("Upsample", (1, 1, 4, 4), scale_factor=(v, 2.0))


def test_non_finite_in_cli_and_spec(tmp_path, capsys):
    code, _, err = run(["layer", "Upsample", "-i", "1,1,4,4", "scale_factor=.inf"], capsys)
    one_line_error(code, err, "scale_factor must be finite")
    p = tmp_path / "s.yaml"
    p.write_text("input: [1, 1, 4, 4]\nlayers: [{type: Upsample, scale_factor: .nan}]\n")
    code, _, err = run(["summary", p], capsys)
    one_line_error(code, err, "scale_factor must be finite")


# --------------------------------------------------------------------------- same error, same code


def test_wrong_argument_type_is_exit_2_in_specs_as_in_layer(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text('input: [1, 1, 4, 4]\nlayers: [{type: Conv2d, out_channels: 1, kernel_size: "3; rm -rf /"}]\n')
    code, _, err = run(["summary", p], capsys)
    one_line_error(code, err, "kernel_size must be an integer")
    code, _, err = run(["layer", "Conv2d", "-i", "1,1,4,4", "out_channels=1", "kernel_size=3; rm -rf /"], capsys)
    one_line_error(code, err, "kernel_size must be an integer")


# --------------------------------------------------------------------------- output files


def test_output_onto_its_own_input_is_refused(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    (tmp_path / "link.yaml").symlink_to(spec)
    for out in (spec, tmp_path / "link.yaml", tmp_path / "." / "spec.yaml"):
        code, _, err = run(["summary", spec, "-o", out], capsys)
        one_line_error(code, err, "is the input")
        assert spec.read_text() == SPEC


def test_output_through_a_symlink_keeps_the_link_and_the_mode(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    target = tmp_path / "table.txt"
    target.write_text("old\n")
    target.chmod(0o600)
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    code, _, err = run(["summary", spec, "-o", link, "--overwrite"], capsys)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "Conv2d" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("argv", [["summary"], ["summary", "--format", "svg"], ["sizes", "seed", "--max", "32"],
                                  ["memory", "seed", "--input", "2,1,28,28"]], ids=lambda a: " ".join(a))
def test_output_onto_an_existing_file_is_refused_unless_overwrite(tmp_path, capsys, argv):
    """A user's file is never replaced by a mistyped -o; --overwrite replaces it, atomically."""
    mine = tmp_path / "model.py"
    mine.write_text("a user's code\n")
    link = tmp_path / "link.py"
    link.symlink_to(mine)
    for out in (mine, link):
        code, _, err = run([*argv, "-o", out], capsys)
        one_line_error(code, err, f"{out} already exists; pass --overwrite")
        assert mine.read_text() == "a user's code\n" and link.is_symlink()
    code, out, err = run([*argv, "-o", mine, "--overwrite"], capsys)
    assert (code, out) == (0, ""), err
    assert mine.read_text() != "a user's code\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_file_made_while_the_command_ran_is_not_replaced(tmp_path):
    """The last look is the rename itself (a hard link, which refuses an existing name): a
    second run that wrote the file meanwhile keeps its file, and no temp file stays."""
    from shapetrace.atomic import atomic_path

    out = tmp_path / "table.txt"
    with pytest.raises(FileExistsError):
        with atomic_path(out, replace=False) as tmp:
            tmp.write_text("the slower run\n")
            out.write_text("the other run\n")  # made after the first look
    assert out.read_text() == "the other run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.txt"]
    with atomic_path(tmp_path / "new.txt", replace=False) as tmp:
        tmp.write_text("new\n")
    assert (tmp_path / "new.txt").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt", "table.txt"]


@pytest.mark.parametrize("dest", ["/dev/null", "dir"])
def test_output_onto_a_non_regular_file_is_refused(tmp_path, capsys, dest):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path if dest == "dir" else dest
    code, _, err = run(["summary", spec, "-o", out], capsys)
    one_line_error(code, err)
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


# --------------------------------------------------------------------------- strings


def test_nul_byte_and_non_utf8_in_options(capsys):
    code, _, err = run(["summary", "examples/seed.yaml", "--columns", "layer\x00x"], capsys)
    one_line_error(code, err, "NUL byte")
    code, _, err = run(["summary", "examples/seed.yaml", "--lang", b"\xff".decode("utf-8", "surrogateescape")],
                       capsys)
    one_line_error(code, err, "not valid UTF-8")


# --------------------------------------------------------------------------- Python API: huge inputs


@settings(max_examples=25, deadline=None)
@given(dims=st.lists(st.integers(1, 2**70), min_size=2, max_size=4).filter(
    lambda d: math.prod(d) * 4 > 2**63 - 1))
def test_an_input_size_torch_cannot_address_is_one_argument_error(dims):
    model = torch.nn.Linear(4, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for device in ("meta", "cpu", "auto"):
        with pytest.raises(ArgumentError) as e:
            shapetrace.summary(model, input_size=tuple(dims), device=device)
        assert "\n" not in str(e.value) and "2**63 - 1" in str(e.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_an_input_the_cpu_cannot_allocate_is_one_argument_error():
    with pytest.raises(ArgumentError) as e:
        shapetrace.summary(torch.nn.Linear(4, 2), input_size=(2**40, 1, 28, 28), device="cpu")
    assert "cannot be allocated on cpu" in str(e.value) and e.value.fix and "meta" in e.value.fix


@pytest.mark.parametrize("model,layer_line,fix", [
    (torch.nn.Linear(3, 4), "layer: Linear", "model = nn.Linear(5, 4)"),
    (torch.nn.Sequential(torch.nn.Linear(3, 4)), "layer: 0 (Linear)", "layer 0: nn.Linear(5, 4)"),
])
def test_the_failing_layer_is_named_also_when_it_is_the_model_itself(model, layer_line, fix):
    from shapetrace import render

    r = shapetrace.summary(model, input_size=(1, 5))
    assert r.error is not None and r.error.row == ("" if isinstance(model, torch.nn.Linear) else "0")
    assert "``" not in r.error.message and fix in r.error.fixes
    text = render.table(r, width=None)
    assert f"  {layer_line}\n" in text and "layer:  (" not in text
    assert "✗" in text  # the failing row is still the one marked
