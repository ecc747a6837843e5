"""Shared test helpers: launching the package's commands in a subprocess, and synthetic sweeps.

``run_cli`` / ``launch`` start ``scaling-train``, ``scaling`` (the virtualenv's console scripts)
or ``python`` (this interpreter) with ``WANDB_MODE=disabled`` and, when given, the session's
data cache, so that no test mirrors to wandb or mines its own copy of the data.

``chinchilla_sweep`` builds the tidy frame ``scaling.analysis.results.load`` gives for a sweep
whose losses follow a known Chinchilla law, for tests of the fits, figures and verdict that
must not train.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BIN = Path(sys.executable).parent


def command(args: Sequence[str | os.PathLike]) -> list[str]:
    """argv with its program resolved: ``python`` -> this interpreter, a console script of the
    virtualenv (``scaling-train``, ``scaling``) -> its path next to the interpreter."""
    if not args:
        raise ValueError("command: no program given")
    prog, *rest = (str(a) for a in args)
    if prog == "python":
        prog = sys.executable
    elif os.sep not in prog and (BIN / prog).exists():
        prog = str(BIN / prog)
    return [prog, *rest]


def cli_env(
    env: Mapping[str, str] | None = None, *, cache: str | os.PathLike | None = None
) -> dict[str, str]:
    """This process's environment with ``WANDB_MODE=disabled``, the data cache
    (``SCALING_CACHE_DIR``) when given, then ``env``'s entries on top."""
    out = {**os.environ, "WANDB_MODE": "disabled"}
    if cache is not None:
        out["SCALING_CACHE_DIR"] = str(cache)
    out.update({k: str(v) for k, v in (env or {}).items()})
    return out


def run_cli(
    args: Sequence[str | os.PathLike],
    *,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    cache: str | os.PathLike | None = None,
    check: bool = False,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing stdout and stderr as text.

    ``check=True`` fails the test (AssertionError) with the command and the tail of stderr
    when it exits non-zero, instead of ``CalledProcessError``'s bare exit status.
    """
    argv = command(args)
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=cli_env(env, cache=cache),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def launch(
    args: Sequence[str | os.PathLike],
    *,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    cache: str | os.PathLike | None = None,
    stdout: Any = subprocess.DEVNULL,
    stderr: Any = subprocess.DEVNULL,
    new_session: bool = False,
) -> subprocess.Popen[str]:
    """Start a command without waiting (``Popen``, text mode). ``new_session=True`` puts it in
    its own process group, so that ``os.killpg(proc.pid, ...)`` reaches every worker it
    starts; the caller waits for it (``proc.wait`` / ``proc.communicate``)."""
    return subprocess.Popen(
        command(args),
        cwd=cwd,
        env=cli_env(env, cache=cache),
        stdout=stdout,
        stderr=stderr,
        text=True,
        start_new_session=new_session,
    )


# --------------------------------------------------------------------------- synthetic sweeps

BUDGETS = (1e18, 1e19, 1e20)


def chinchilla_sweep(
    law: Any,
    data_type: str,
    *,
    budgets: Sequence[float] = BUDGETS,
    sizes: int = 7,
    spread: float = 8.0,
    seeds: Sequence[int] = (0,),
    noise: float = 0.0,
    rng_seed: int = 0,
    convention: str = "6N_total",
) -> pd.DataFrame:
    """An isoFLOP grid whose losses follow ``law`` (a ``ChinchillaLaw``): at each budget C,
    ``sizes`` model sizes from N_opt(C) / ``spread`` to N_opt(C) x ``spread`` (so that every
    minimum is bracketed), D = C / (6 N), one row per seed, the loss times exp(normal(0,
    ``noise``)). Columns as ``results.load`` gives them."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for c in budgets:
        n_opt = float(law.compute_optimal(c)[0])
        for j, f in enumerate(np.geomspace(1 / spread, spread, sizes)):
            n = n_opt * f
            d = c / (6 * n)
            for s in seeds:
                loss = float(law.predict(n, d)) * math.exp(rng.normal(0.0, noise) if noise else 0)
                rows.append(
                    {
                        "run_id": f"{data_type}-{c:.0e}-m{j}-s{s}",
                        "sweep": "synthetic",
                        "data_type": data_type,
                        "model": f"{data_type}-{c:.0e}-m{j}",
                        "seed": s,
                        "budget_flops": c,
                        "flops": c,
                        "params": n,
                        "tokens": d,
                        "loss": loss,
                        "loss_domain": data_type,
                        "flops_convention": convention,
                        "wall_seconds": 1.0,
                    }
                )
    return pd.DataFrame(rows)
