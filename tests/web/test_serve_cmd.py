"""`shapetrace serve`: serves the page on localhost by default, says so when it does not,
and turns a busy port into a one-line error."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from shapetrace.cli import main


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "shapetrace", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def first_line(stream, timeout: float = 30) -> str:
    # The command prints its URL as soon as the socket is bound.
    deadline = time.monotonic() + timeout
    line = ""
    while not line and time.monotonic() < deadline:
        line = stream.readline()
    assert line, "no output from shapetrace serve"
    return line.strip()


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise AssertionError("shapetrace serve did not stop on Ctrl+C")
    return proc.returncode, proc.stderr.read()


def get(url: str, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_on_localhost_by_default():
    proc = start("--port", "0")
    try:
        line = first_line(proc.stdout)
        assert line.startswith("shapetrace calculator at http://127.0.0.1:"), line
        url = line.split()[3]
        assert "<title>shapetrace" in get(url).decode()
        layers = json.loads(get(url + "api/layers"))
        assert any(entry["name"] == "Conv2d" for entry in layers)
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "warning" not in err and "Traceback" not in err


def test_serve_elsewhere_warns():
    proc = start("--host", "0.0.0.0", "--port", "0")
    try:
        line = first_line(proc.stdout)
        assert line.startswith("shapetrace calculator at http://0.0.0.0:")
        port = int(line.split()[3].rsplit(":", 1)[1].strip("/"))
        assert json.loads(get(f"http://127.0.0.1:{port}/api/presets"))
    finally:
        code, err = stop(proc)
    assert err.startswith("warning: listening on 0.0.0.0, reachable from other machines"), err
    assert len(err.strip().splitlines()) == 1


def test_busy_port_is_a_one_line_error(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(SystemExit) as e:
            main(["serve", "--port", str(port)])
    out, err = capsys.readouterr()
    assert e.value.code == 2
    assert err == f"error: 127.0.0.1:{port} is in use; pick another with --port\n"


def test_bad_port_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", "70000"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--port" in err and "65535" in err
    assert len(err.splitlines()) == 1


def test_cli_does_not_import_the_web_stack():
    """`shapetrace layer` must not pay for fastapi/uvicorn: serve imports them when it runs."""
    code = ("import sys, shapetrace.cli; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("host", ["é한\u202e", "local host", "a" * 254, "-bad.example", "x..y", "", "ex\x00ample"])
def test_a_host_that_is_no_address_or_host_name_is_one_error_line(host, capsys):
    # getaddrinfo's IDNA codec raised UnicodeError (a traceback) on some of these.
    with pytest.raises(SystemExit) as done:
        main(["serve", "--host", host, "--port", "0"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --host ")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "my-host.example", "a.b.c.", "web_1.compose"])
def test_addresses_and_host_names_pass_the_check(host):
    from shapetrace.cli.serve_cmd import check_host
    check_host(host)
