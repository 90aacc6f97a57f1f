"""`shapetrace experiment depth` end to end on a tiny slice of the real MNIST (seconds), and its
one-line errors with exit code 2 for bad input, which destroy nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shapetrace.cli import main

from ..cli_run import run, one_line_error

TINY = ["--width", "2", "--steps", "6", "--batch-size", "16", "--train-subset", "64", "--test-subset", "32",
        "--grad-every", "2", "--probe-size", "16", "--threads", "1", "--quiet"]
OUTPUTS = {"results.json", "report.md", "loss_curves.png", "grad_norms_init.png", "grad_norms_train.png"}
MARKER = ".shapetrace-run"  # the run folder's marker (train/run_folder.py), as `train` writes it


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, shared_mnist):
    """Depths 8 and 14, plain and residual, with and without BatchNorm, on 64 real digits."""
    out = tmp_path_factory.mktemp("depth") / "run"
    with pytest.raises(SystemExit) as e:
        main(["experiment", "depth", "--depths", "8,14", "--data", str(shared_mnist), "--out", str(out),
              "--no-download", *TINY])
    assert e.value.code == 0
    return out


def test_command_module_does_not_import_torch():
    code = ("import sys\nimport shapetrace.cli.experiment_cmd\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_help(capsys):
    code, out, _ = run(["experiment", "--help"], capsys)
    assert code == 0 and "depth" in out
    code, out, _ = run(["experiment", "depth", "--help"], capsys)
    assert code == 0 and "--depths" in out and "--preset" in out and "--init" in out


def test_tiny_run_writes_every_output(tiny_run):
    assert {p.name for p in tiny_run.iterdir()} == OUTPUTS | {MARKER}  # no temp files left
    results = json.loads((tiny_run / "results.json").read_text())
    assert results["schema"] == "shapetrace.experiment.depth/1"
    assert results["config"]["depths"] == [8, 14] and results["config"]["steps"] == 6
    assert [r["name"] for r in results["runs"]] == [
        "plain-8", "plain-14", "residual-8", "residual-14",
        "plain-8-bn", "plain-14-bn", "residual-8-bn", "residual-14-bn"]
    for r in results["runs"]:
        assert len(r["curve"]["loss"]) == len(r["curve"]["accuracy"]) == r["steps_done"] == 6
        assert len(r["grad_norm_init"]) == len(r["layers"]) == r["depth"]
        assert r["grad_norm_train"]["steps"] == [0, 2, 4, 5]
        assert all(len(row) == r["depth"] for row in r["grad_norm_train"]["norms"])
        assert 0 <= r["final"]["test_accuracy"] <= 1 and r["final"]["train_loss"] > 0
        assert r["wall_time_s"] >= r["train_time_s"] > 0
    by_name = {r["name"]: r for r in results["runs"]}
    for d in (8, 14):
        for bn in ("", "-bn"):
            assert by_name[f"plain-{d}{bn}"]["params"] == by_name[f"residual-{d}{bn}"]["params"]
            assert by_name[f"plain-{d}{bn}"]["layers"] == by_name[f"residual-{d}{bn}"]["layers"]
    report = (tiny_run / "report.md").read_text()
    assert "| residual-14-bn | yes | 14 |" in report and "![Training loss vs step](loss_curves.png)" in report


def test_same_seed_same_numbers(tiny_run, shared_mnist, tmp_path, capsys):
    """A rerun with the same options reproduces the losses (seeded data, order and weights)."""
    code, out, _ = run(["experiment", "depth", "--depths", "8", "--bn", "without", "--data", shared_mnist,
                        "--out", tmp_path, "--no-download", *TINY], capsys)
    assert code == 0
    again = json.loads((tmp_path / "results.json").read_text())["runs"]
    first = json.loads((tiny_run / "results.json").read_text())["runs"]
    assert [r["curve"]["loss"] for r in again] == [r["curve"]["loss"] for r in first[:1] + first[2:3]]
    assert "| plain-8 | no | 8 |" in out and "total wall time" in out


def test_bundled_sample_runs_offline(tmp_path, capsys):
    code, out, err = run(["experiment", "depth", "--depths", "8", "--sample", "--bn", "with",
                          "--out", tmp_path, *TINY[:-1]], capsys)
    assert code == 0, err
    assert "[1/2] plain-8-bn" in err.replace("[ ", "[") and "[2/2] residual-8-bn" in err.replace("[ ", "[")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["environment"]["data"] == "bundled sample"


@pytest.mark.parametrize("args, needles", [
    (["--depths", "8;20"], ["--depths must be integers separated by commas", "8;20"]),
    (["--depths", "8,,20"], ["--depths must be integers separated by commas"]),
    (["--depths", "8,twenty"], ["'twenty'"]),
    (["--depths", "8,10"], ["depth 10 is not of the form 6n+2", "nearest: 8 or 14"]),
    (["--depths", "4"], ["depth 4 is not of the form 6n+2", "the smallest is 8"]),
    (["--depths", "8,8"], ["lists a depth twice"]),
    (["--width", "0"], ["--width must be an integer from 1 to 1,024, got 0"]),
    (["--lr", "-1"], ["--lr must be a positive number"]),
    (["--threads", "-2"], ["--threads must be an integer from 1 to"]),
    (["--threads", "100000"], ["--threads must be an integer from 1 to"]),
    (["--threads", "5000"], ["--threads must be an integer from 1 to"]),
    (["--depths", "6000000002"], ["--depths: depth 6000000002 is deeper than the 1202 layers"]),
    (["--depths", "8," + "9" * 5000], ["--depths: depth 999999999999... is deeper than the 1202 layers"]),
    (["--steps", "99999999999"], ["--steps must be an integer from 1 to 10,000,000"]),
    (["--train-subset", "10", "--batch-size", "16"], ["--batch-size 16 is larger than --train-subset 10"]),
    (["--preset", "tpu"], ["tpu"]),
    (["--init", "xavier"], ["xavier"]),
])
def test_bad_options_give_one_line_errors(args, needles, tmp_path, capsys):
    code, _, err = run(["experiment", "depth", "--sample", "--out", tmp_path / "out", *args], capsys)
    one_line_error(code, err, *needles)
    assert not (tmp_path / "out").exists()  # checked before anything is created


def test_missing_data(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["experiment", "depth", "--data", empty, "--no-download", "--out", tmp_path / "o"],
                       capsys)
    one_line_error(code, err, "MNIST not found", str(empty))
    code, _, err = run(["experiment", "depth", "--data", tmp_path / "nowhere", "--no-download",
                        "--out", tmp_path / "o"], capsys)
    one_line_error(code, err, "no such directory")
    code, _, err = run(["experiment", "depth", "--data", empty, "--sample", "--out", tmp_path / "o"], capsys)
    one_line_error(code, err, "either --data DIR or --sample")


def test_train_subset_larger_than_the_data(tmp_path, capsys):
    code, _, err = run(["experiment", "depth", "--sample", "--train-subset", "5000", "--out", tmp_path], capsys)
    one_line_error(code, err, "--train-subset 5000 is larger than the 800 training digits")


def test_unwritable_out(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep me")
    code, _, err = run(["experiment", "depth", "--sample", "--out", a_file, *TINY], capsys)
    one_line_error(code, err, "exists and is not a folder")
    code, _, err = run(["experiment", "depth", "--sample", "--out", a_file / "sub", *TINY], capsys)
    one_line_error(code, err, "cannot write there")
    assert a_file.read_text() == "keep me"


def test_cuda_requested_without_cuda(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(["experiment", "depth", "--sample", "--device", "cuda", "--out", tmp_path / "o", *TINY],
                       capsys)
    one_line_error(code, err, "--device cuda: no CUDA device is available")
    assert not (tmp_path / "o").exists()


def test_a_failed_overwrite_leaves_no_mixed_folder(tiny_run, tmp_path, capsys, monkeypatch):
    """--overwrite deletes the earlier run's outputs before it writes (results first); a failure
    while writing then leaves only complete files of the new run, never old plots or an old
    report beside new results."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(tiny_run, out)
    from shapetrace.experiments import depth_plots

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(depth_plots, "plot_loss_curves", broken)
    code, _, err = run(["experiment", "depth", "--depths", "8", "--sample", "--bn", "without", "--out", out,
                        "--overwrite", *TINY], capsys)
    one_line_error(code, err, f"could not write the outputs to {out}", "No space left on device")
    assert {p.name for p in out.iterdir()} == {MARKER, "results.json"}  # no temp files, nothing old
    assert json.loads((out / "results.json").read_text())["config"]["depths"] == [8]  # the new run's


def test_earlier_results_are_not_overwritten(tiny_run, capsys):
    """Issue 14 item 6: as `train` does, a folder with an earlier run is refused without --overwrite."""
    before = {p.name: p.read_bytes() for p in tiny_run.iterdir()}
    code, _, err = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tiny_run, *TINY], capsys)
    one_line_error(code, err, "already holds a run", "--overwrite")
    assert {p.name: p.read_bytes() for p in tiny_run.iterdir()} == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_users_report_is_left_alone(tmp_path, capsys, overwrite):
    """A folder with the user's own report.md (no run marker) is refused even with --overwrite."""
    (tmp_path / "report.md").write_text("# my notes\n")
    code, _, err = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tmp_path, *overwrite,
                        *TINY], capsys)
    one_line_error(code, err, "holds files that no shapetrace run wrote there (report.md)")
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    assert (tmp_path / "report.md").read_text() == "# my notes\n"


def test_a_busy_folder_is_refused(tmp_path, capsys):
    """The folder is locked while a run uses it (the lock `train` takes, here held by a claim)."""
    from shapetrace.experiments.depth_run import OUTPUTS as RUN_OUTPUTS, RUN_KIND
    from shapetrace.train import run_folder

    held = run_folder.claim(tmp_path / "out", RUN_KIND, RUN_OUTPUTS)
    try:
        held.start()
        code, _, err = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tmp_path / "out",
                            "--overwrite", *TINY], capsys)
        one_line_error(code, err, "is in use by another shapetrace run")
    finally:
        held.release()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [MARKER]


def test_a_train_run_folder_is_not_an_experiment(tmp_path, capsys):
    from shapetrace.train import run_folder

    earlier = run_folder.claim(tmp_path, "train", ("checkpoint.pt",))
    earlier.start()
    earlier.release()
    code, _, err = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tmp_path, *TINY], capsys)
    one_line_error(code, err, "holds a run of `shapetrace train`")


def test_gpu_preset_falls_back_to_cpu_with_auto(tmp_path, capsys, monkeypatch):
    """The GPU preset's settings (checked here on CPU, with a tiny budget): width 16, full
    resolution (stem stride 1); --device auto uses the CPU where there is no CUDA."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(["experiment", "depth", "--preset", "gpu", "--sample", "--depths", "8", "--bn", "with",
                        "--steps", "2", "--batch-size", "16", "--test-subset", "32", "--probe-size", "16",
                        "--threads", "1", "-q", "--out", tmp_path],
                       capsys)
    assert code == 0, err
    results = json.loads((tmp_path / "results.json").read_text())
    c = results["config"]
    assert (c["width"], c["stem_stride"], c["device"], c["grad_every"]) == (16, 1, "auto", 50)
    assert results["environment"]["device"] == "cpu"
    assert results["runs"][0]["params"] == results["runs"][1]["params"] > 0


def test_ctrl_c_exits_130_with_a_word(tmp_path, capsys, monkeypatch):
    """Ctrl-C during training (KeyboardInterrupt from inside the loop): exit 130 and one line that
    says nothing was written and how to start again (it exited 130 silently)."""
    from shapetrace.experiments import depth

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(depth, "train_one", interrupted)
    code, out, err = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tmp_path / "o", *TINY],
                         capsys)
    assert code == 130 and out == ""
    assert err == (f"interrupted; the experiment writes its outputs when every net is trained, so {tmp_path / 'o'} "
                   f"holds none of its outputs: start it again\n")
    assert [p.name for p in (tmp_path / "o").iterdir()] == [MARKER]


def test_the_config_is_checked_once(tmp_path, capsys, monkeypatch):
    """Issue 13: the command, run_experiment and depth.run each validated the same config; now
    run_experiment does, once, before anything is created (the messages are the same:
    test_bad_options_give_one_line_errors)."""
    from shapetrace.experiments import depth

    checks = []
    validate = depth.DepthConfig.validate
    monkeypatch.setattr(depth.DepthConfig, "validate", lambda self: checks.append(self) or validate(self))

    def interrupted(*a, **k):  # stop at the first net: the checks are all done by then
        raise KeyboardInterrupt

    monkeypatch.setattr(depth, "train_one", interrupted)
    code, _, _ = run(["experiment", "depth", "--depths", "8", "--sample", "--out", tmp_path / "o", *TINY], capsys)
    assert code == 130 and len(checks) == 1
