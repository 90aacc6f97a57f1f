"""The depth experiment as ``shapetrace experiment depth`` runs it: claim the output folder
(``train.run_folder``: the same rule as ``train``: a folder with earlier results or a user's
files of the same names is refused unless it holds this experiment's earlier run and
``--overwrite`` is given; locked for the run), read the data, train every net
(``experiments/depth.py``) and write results.json, the plots and report.md, each atomically.

torch-free at import; the CLI (``cli/experiment_cmd.py``) only parses options into a
``DepthConfig`` and prints what this returns.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ShapetraceError
from ..devices import resolve
from ..train import run_folder
from .depth import DepthConfig

RUN_KIND = "experiment depth"
RESULTS_NAME = "results.json"
REPORT_NAME = "report.md"
# Every file the experiment writes, in the order --overwrite deletes them (results first: a
# folder whose results are gone is never read as a finished experiment).
OUTPUTS = (RESULTS_NAME, REPORT_NAME, "loss_curves.png", "grad_norms_init.png", "grad_norms_train.png")

Progress = Callable[[int, int, dict[str, Any]], None]


def run_experiment(config: DepthConfig, out: Path, *, data: str | os.PathLike | None, sample: bool,
                   download: bool, overwrite: bool = False,
                   progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Train as ``config`` says into ``out``; returns the results and the paths written.

    The one place the config is checked (``DepthConfig.validate``): the command only builds it,
    and ``depth.run`` trusts it."""
    from ..data.mnist import load_source
    from . import depth

    config.validate()  # before the folder is claimed or the data read
    resolve(config.device)  # --device cuda without CUDA: fail before anything is created
    folder = run_folder.claim(out, RUN_KIND, OUTPUTS, overwrite=overwrite)
    try:
        try:
            mnist = load_source(data, sample, download=download)
            folder.start()
        except BaseException:
            folder.abandon()  # nothing was written; a folder this run created goes again
            raise
        results = depth.run(config, mnist, progress=progress)
        try:
            paths = write_outputs(results, Path(out))
        except OSError as e:  # each file is replaced whole or not at all (temp file + rename)
            raise ShapetraceError(f"could not write the outputs to {out}: {e.strerror or e}") from None
    finally:
        folder.release()
    return results, paths


def write_outputs(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """results.json, the plots and report.md, each written atomically (temp file + rename)."""
    from ..atomic import atomic_write_text
    from .depth_plots import write_all
    from .depth_report import render

    paths: dict[str, Path] = {}
    paths["results"] = atomic_write_text(out_dir / RESULTS_NAME,
                                         json.dumps(results, indent=1, allow_nan=False) + "\n")
    images = write_all(results, out_dir)
    paths.update(images)
    report = render(results, {name: os.path.basename(p) for name, p in images.items()})
    paths["report"] = atomic_write_text(out_dir / REPORT_NAME, report)
    return paths
