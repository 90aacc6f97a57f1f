"""The target of `summary` is the user's own code, kept in its place (issue 14 item 10): its
exits are errors, its prints go to stderr, its threads do not hold the process, and only
what builds a model is called (trace/usercode.py, trace/targets.check_buildable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from torch import nn

from tests.cli_run import run

MODEL = textwrap.dedent("""
    import os, sys, threading, time
    from torch import nn
    MODE = {mode!r}
    print("import says hi")
    if MODE == "sys_import":
        sys.exit(0)
    if MODE == "os_import":
        os._exit(0)
    if MODE == "thread":
        threading.Thread(target=time.sleep, args=(600,), name="user-sleeper").start()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            print("init says hi")
            if MODE == "sys_init":
                sys.exit(3)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            print("forward says hi")
            os.write(1, b"fd 1 says hi\\n")
            if MODE == "os_forward":
                try:
                    os._exit(0)
                except Exception:  # the user's own catch-all must not swallow it
                    pass
            if MODE == "sys_forward":
                raise SystemExit
            return self.fc(x)

    def factory() -> nn.Module:
        return Net()

    def unannotated():
        return Net()

    def says_str() -> str:
        return "no"

    from shutil import rmtree
""")


def _model(tmp_path, mode=""):
    p = tmp_path / "net.py"
    p.write_text(MODEL.format(mode=mode))
    return p


def _shapetrace(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "shapetrace", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def _one_error(code, err, expected_code, *needles):
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == expected_code and len(errors) == 1, err
    assert "Traceback" not in err, err
    for n in needles:
        assert n in errors[0], errors[0]


def test_the_models_prints_go_to_stderr_and_json_stays_valid(tmp_path, capfd):
    p = _model(tmp_path)
    code, out, err = run(["summary", f"{p}:Net", "--input", "1,4", "--format", "json"], capfd)
    assert code == 0, err
    assert json.loads(out)["rows"]
    for said in ("import says hi", "init says hi", "forward says hi", "fd 1 says hi"):
        assert said in err and said not in out


@pytest.mark.parametrize("mode,call", [("sys_import", "sys.exit(0)"), ("sys_init", "sys.exit(3)"),
                                       ("sys_forward", "sys.exit(None)")])
def test_an_exit_in_the_models_code_is_an_error_not_success(tmp_path, capfd, mode, call):
    p = _model(tmp_path, mode)
    code, out, err = run(["summary", f"{p}:Net", "--input", "1,4", "--format", "json"], capfd)
    _one_error(code, err, 1, call, "must not end the process")


# os._exit in a real process each: without the fix it would end pytest itself, with status 0
@pytest.mark.parametrize("mode", ["os_import", "os_forward"])
def test_os_exit_in_the_models_code_is_an_error_not_success(tmp_path, mode):
    done = _shapetrace("summary", f"{_model(tmp_path, mode)}:Net", "--input", "1,4")
    _one_error(done.returncode, done.stderr, 1, "os._exit(0)", "must not end the process")
    assert done.stdout == ""


def test_os_exit_is_put_back_and_a_forked_child_still_exits(tmp_path, capfd):
    real = os._exit
    run(["summary", f"{_model(tmp_path, 'sys_init')}:Net", "--input", "1,4"], capfd)
    assert os._exit is real
    from shapetrace.trace.usercode import user_code

    with user_code():
        pid = os.fork()
        if pid == 0:  # the child: os._exit must end it, with its status
            os._exit(7)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_a_thread_left_running_does_not_hold_the_command(tmp_path):
    done = _shapetrace("summary", f"{_model(tmp_path, 'thread')}:Net", "--input", "1,4", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "fc" in done.stdout and "user-sleeper" in done.stderr


@pytest.mark.parametrize("attr,why", [
    ("says_str", "annotated to return str"),
    ("rmtree", "standard library"),
    ("os", "a module"),
    ("MODE", "a str"),
])
def test_a_file_target_that_is_not_a_model_builder_is_refused_before_any_call(tmp_path, capfd, attr, why):
    code, _, err = run(["summary", f"{_model(tmp_path)}:{attr}", "--input", "1,4"], capfd)
    _one_error(code, err, 2, why, "a target must be")


@pytest.mark.parametrize("attr", ["Net", "factory", "unannotated"])
def test_classes_and_the_files_own_functions_build(tmp_path, capfd, attr):
    code, out, err = run(["summary", f"{_model(tmp_path)}:{attr}", "--input", "1,4"], capfd)
    assert code == 0 and "fc" in out, err


@pytest.mark.parametrize("target,why", [
    ("shutil:rmtree", "standard library"),
    ("os:remove", "builtin_function_or_method, not an nn.Module"),
    ("torch:save", "annotated to return None"),
    ("torch:load", "annotated to return"),
    ("collections:OrderedDict", "not an nn.Module subclass"),
    ("json:loads", "standard library"),
])
def test_a_module_target_that_is_not_a_model_builder_is_refused_before_any_call(tmp_path, capfd, target, why):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    code, _, err = run(["summary", target, "--input", "1,4", "--kwargs", f"path={victim}"], capfd)
    _one_error(code, err, 2, why)
    assert (victim / "keep.txt").read_text() == "mine"


def test_a_function_from_another_package_must_say_it_returns_a_module(tmp_path, capfd):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text(
        "from tests.cli.test_user_code import _helper_builder as unsaid\n"
        "from tests.cli.test_user_code import _helper_said as said\n")
    sys.path.insert(0, str(tmp_path))
    try:
        code, _, err = run(["summary", "mypkg:unsaid", "--input", "1,4"], capfd)
        _one_error(code, err, 2, "another package")
        code, out, err = run(["summary", "mypkg:said", "--input", "1,4"], capfd)
        assert code == 0 and "Linear" in out, err
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
            del sys.modules[name]


def _helper_builder():
    return nn.Linear(4, 2)


def _helper_said() -> "nn.Module":  # a string annotation, resolved by the check
    return nn.Linear(4, 2)
