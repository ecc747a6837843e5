"""`scaling plan`'s predicted efficiency: pending FLOPs over predicted wall x the measured peak."""

from __future__ import annotations

from scaling.cli import plan
from scaling.train import calibrate
from tests.conftest import tiny_run


def test_efficiency_is_pending_flops_over_wall_times_peak(monkeypatch):
    monkeypatch.setattr(calibrate, "matmul_peak_flops", lambda threads: 1e11)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    rows = [
        {"flops": 4e12, "state": "pending"},
        {"flops": 9e12, "state": "done"},  # finished runs cost nothing more
    ]
    line = plan._efficiency_line([tiny_run()], rows, wall=100.0, n_workers=2)
    # 4e12 / 100 s / (1e11 x 2 threads) = 20%
    assert line == (
        "predicted efficiency: 20.0% of the measured fp32 matmul peak (200 GFLOP/s on 2 thread(s))"
    )


def test_matmul_peak_is_measured_and_positive():
    peak = calibrate.matmul_peak_flops.__wrapped__(1, n=128, reps=2)
    assert 1e8 < peak < 1e13  # FLOP/s of a 128 x 128 fp32 product on one thread
