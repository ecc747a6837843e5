"""LogFollower: new lines of job logs reach the console; earlier launches' logs do not."""

from __future__ import annotations

import io

from scaling.cli.follow import LogFollower


def test_follower_prints_only_what_jobs_write_after_it_starts(tmp_path):
    old = tmp_path / "1_0_log.err"
    old.write_text("[old-run] trained: loss 3.0\n")
    out = io.StringIO()
    follower = LogFollower(tmp_path, out=out)
    with follower:
        with old.open("a") as fh:
            fh.write("[old-run] relaunched\n")
        (tmp_path / "2_0_log.err").write_text("[new] step 1/10\r[new] step 2/10\n[new] half")
        follower.poll()
        assert out.getvalue().splitlines() == ["[old-run] relaunched", "[new] step 2/10"]
        (tmp_path / "2_0_log.out").write_text("stdout is not followed\n")
    # the exit reads once more and flushes the partial last line
    assert out.getvalue().splitlines()[-1] == "[new] half"
    assert "[old-run] trained" not in out.getvalue()
    assert "stdout" not in out.getvalue()


def test_missing_folder_is_quiet(tmp_path):
    out = io.StringIO()
    with LogFollower(tmp_path / "not-yet", out=out):
        pass
    assert out.getvalue() == ""
