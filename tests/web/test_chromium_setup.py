"""The browser tests find their Chromium, or install Debian's package on a fresh machine
(tests/web/chromium.py): checked with a fake apt-get on a PATH of our own."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from . import chromium as setup


def _script(path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """A PATH holding only a folder of our own (with the sh and chmod the fake apt-get
    needs), no Chromium on it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "chmod"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("SHAPETRACE_CHROMIUM", raising=False)
    monkeypatch.setattr(setup.tempfile, "gettempdir", lambda: str(tmp_path))
    return bin_dir


def test_a_chromium_on_path_is_used(bare_path):
    _script(bare_path / "chromium-browser", "exit 0\n")
    assert setup.chromium() == str(bare_path / "chromium-browser")


def test_the_environment_variable_wins_and_must_name_a_file(bare_path, tmp_path, monkeypatch):
    _script(bare_path / "chromium", "exit 0\n")
    mine = tmp_path / "my-chrome"
    _script(mine, "exit 0\n")
    monkeypatch.setenv("SHAPETRACE_CHROMIUM", str(mine))
    assert setup.chromium() == str(mine)
    monkeypatch.setenv("SHAPETRACE_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(AssertionError, match="is not a file"):
        setup.chromium()


def test_a_missing_chromium_is_installed_by_apt_get_as_root(bare_path, monkeypatch):
    log = bare_path.parent / "apt.log"
    # The fake apt-get logs its arguments; `install ... chromium` puts a chromium on PATH.
    _script(bare_path / "apt-get", f'echo "$@" >> {log}\n'
            f'case "$*" in *install*chromium*) printf "#!/bin/sh\\n" > {bare_path}/chromium; '
            f'chmod +x {bare_path}/chromium;; esac\n')
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert setup.chromium() == str(bare_path / "chromium")
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]


def test_a_failed_install_or_no_right_to_install_is_a_failure_naming_the_fix(bare_path, monkeypatch):
    _script(bare_path / "apt-get", 'echo "E: Unable to locate package chromium"; exit 100\n')
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(AssertionError, match="installing Chromium failed .*Unable to locate"):
        setup.chromium()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(AssertionError, match="apt-get install chromium"):
        setup.chromium()
