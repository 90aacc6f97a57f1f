"""Find the Chromium the browser tests drive, or install Debian's package when it is missing.

The README's test command must work on a fresh machine with only Python, pip and the
package registries (issue 13 item 5). `playwright install` cannot download its browser
here, so the tests drive a system Chromium: ``$SHAPETRACE_CHROMIUM`` if set, else the
first of the usual names on PATH, else (as root, with apt-get, as on the CI machines)
Debian's ``chromium`` is installed once, under a file lock shared by the xdist workers.
Anything else is a failure with the one command that fixes it, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = ["apt-get", "install", "-y", "-qq", "chromium"]


def _on_path() -> str | None:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _install() -> str:
    from filelock import FileLock

    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with FileLock(str(Path(tempfile.gettempdir()) / "shapetrace-chromium-install.lock")):
        found = _on_path()  # another worker may have installed it while this one waited
        if found:
            return found
        for cmd in (["apt-get", "update", "-qq"], INSTALL):
            done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=900)
            if done.returncode != 0:
                tail = done.stdout.strip().splitlines()[-1:] or [""]
                raise AssertionError(f"installing Chromium failed ({' '.join(cmd)}: {tail[0]}); "
                                     f"install it by hand (apt-get install chromium) or set SHAPETRACE_CHROMIUM")
    found = _on_path()
    assert found, "apt-get installed chromium but no Chromium binary is on PATH; set SHAPETRACE_CHROMIUM"
    return found


def chromium() -> str:
    """The path of a Chromium binary, installing Debian's package if need be and allowed."""
    wanted = os.environ.get("SHAPETRACE_CHROMIUM")
    if wanted:
        assert Path(wanted).is_file(), f"SHAPETRACE_CHROMIUM={wanted} is not a file"
        return wanted
    found = _on_path()
    if found:
        return found
    assert _can_install(), ("Chromium not found (looked for " + ", ".join(NAMES) + " on PATH) and this "
                            "user cannot install it: run `apt-get install chromium` as root, or point "
                            "SHAPETRACE_CHROMIUM at a Chromium binary")
    return _install()
