"""A sweep through hydra/launcher=ray on a running Ray cluster, as on a real one: a head started
here with `ray start --head` (its own ports, temp dir and auth token), joined by address (what
address=auto finds on a cluster node) and through Ray Client (ray://host:10001 from a laptop).

Skipped when the Ray launcher is not installed (README, Launchers: the ray install line)."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.test_launchers import SMALL, _complete, _grid
from tests.helpers import BIN, run_cli

WHY = "Ray launcher not installed (README, Launchers: the ray install line)"

pytestmark = pytest.mark.slow


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def ray_head():
    """A one-node Ray cluster (2 CPUs) on 127.0.0.1; yields (gcs address, client address, env)."""
    pytest.importorskip("ray", reason=WHY)
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason=WHY)
    gcs, client, dashboard = _free_ports(3)
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's unix sockets live there
    # token auth on (a Ray 2.60 cluster's default), with a token of this test's own
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    cmd = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs}",
        f"--ray-client-server-port={client}",
        f"--dashboard-port={dashboard}",
        "--num-cpus=2",
        f"--temp-dir={temp}",
    ]
    log = Path(temp) / "head.log"
    with open(log, "w") as out:
        head = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and "Ray runtime started" not in log.read_text():
            assert head.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "Ray runtime started" in log.read_text(), log.read_text()[-3000:]
        yield f"127.0.0.1:{gcs}", f"ray://127.0.0.1:{client}", env, Path(temp)
    finally:
        # `ray start --block` stops the cluster's processes when it is terminated
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.parametrize("how", ["address", "ray_client"])
def test_sweep_on_a_running_ray_cluster(tmp_path, data_cache, ray_head, how):
    gcs, client, env, temp = ray_head
    address = gcs if how == "address" else client
    out = tmp_path / "runs"
    cmd = [
        "scaling-train",
        "-m",
        f"runtime.out_dir={out}",
        *SMALL,
        "hydra/launcher=ray",
        f"hydra.launcher.ray.init.address={address}",
    ]
    try:
        proc = run_cli(cmd, cache=data_cache, env=env, check=True, timeout=240)
    except AssertionError as e:  # with the tail of the cluster's client-server logs
        logs = sorted(temp.glob("session_latest/logs/ray_client_server*.err"))
        tails = "\n".join(f"== {p.name}\n{p.read_text()[-1500:]}" for p in logs)
        raise AssertionError(f"{e}\n{tails}") from None
    assert "Connecting to existing Ray cluster" in proc.stderr or how == "ray_client"
    recs = _complete(out)
    assert _grid(recs) == sorted(itertools.product(["web"], ["xxxs", "xxs"], [2e8, 6e8]))
