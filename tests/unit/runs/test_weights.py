"""Weights kept: a finished run writes model.safetensors and model.json, they rebuild the trained
model and its tokenizer, ``scaling sample`` continues a prompt with them, and checkpoints load
with ``weights_only=True`` (a pickled object is refused and the run starts over)."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
import torch

from scaling.core.errors import UserError
from scaling.runs import identity, layout
from scaling.runs.runner import execute
from scaling.runs.weights import load_run_model
from scaling.train.checkpoint import load_checkpoint, save_checkpoint
from scaling.train.trainer import Hooks, Trainer
from tests.conftest import tiny_run
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run config, run directory, result record) of one tiny finished run."""
    run = tiny_run(out_dir=tmp_path_factory.mktemp("weights"))
    record = execute(run)
    assert record is not None
    return run, pathlib.Path(run.runtime.out_dir) / identity.run_id(run.to_dict()), record


def test_a_finished_run_keeps_its_weights(trained):
    _, run_dir, record = trained
    assert (run_dir / layout.WEIGHTS).is_file() and (run_dir / layout.MODEL_INFO).is_file()
    on_disk = json.loads((run_dir / layout.RESULT).read_text())
    assert on_disk["weights"] == record["weights"]
    assert record["weights"]["bytes"] == (run_dir / layout.WEIGHTS).stat().st_size
    info = json.loads((run_dir / layout.MODEL_INFO).read_text())
    assert info["run_id"] == record["run_id"] == run_dir.name
    assert info["tokenizer"]["fingerprint"] == record["tokenizer"]["fingerprint"]
    assert info["tied"] == {"head.weight": "wte.weight"}
    assert not list(run_dir.glob(".*.tmp"))


def test_the_loaded_model_gives_the_recorded_held_out_loss(trained):
    run, run_dir, record = trained
    model, tok = load_run_model(run_dir)
    assert model.head.weight is model.wte.weight  # the tie survives the round trip
    assert tok.fingerprint() == record["tokenizer"]["fingerprint"]
    evaluator = Trainer(run)  # the same eval streams; a fresh (untrained) model
    untrained = evaluator.evaluate(final=True)[f"val/{record['loss_domain']}/loss"]
    evaluator.model = model
    got = evaluator.evaluate(final=True)[f"val/{record['loss_domain']}/loss"]
    assert got == pytest.approx(record["loss"], rel=1e-6)
    assert untrained != pytest.approx(record["loss"], rel=1e-3)  # the check can fail


def test_packed_runs_keep_their_own_final_weights(tmp_path, capsys):
    import dataclasses

    from scaling.runs.runner import execute_pack

    a = tiny_run(out_dir=tmp_path)
    runs = [a, dataclasses.replace(a, seed=1)]
    records = execute_pack(runs)
    assert "[pack of 2]" in capsys.readouterr().err
    for run, record in zip(runs, records, strict=True):
        model, _ = load_run_model(tmp_path / record["run_id"])
        evaluator = Trainer(run)
        evaluator.model = model
        got = evaluator.evaluate(final=True)[f"val/{record['loss_domain']}/loss"]
        assert got == pytest.approx(record["loss"], rel=1e-6)
    assert records[0]["loss"] != pytest.approx(records[1]["loss"], rel=1e-6)


def test_a_tokenizer_that_is_not_the_trained_one_is_refused(trained, tmp_path):
    _, run_dir, _ = trained
    copy = tmp_path / run_dir.name
    copy.mkdir()
    for name in (layout.WEIGHTS, layout.CONFIG):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    info = json.loads((run_dir / layout.MODEL_INFO).read_text())
    info["tokenizer"]["fingerprint"] = "0" * 16
    (copy / layout.MODEL_INFO).write_text(json.dumps(info))
    with pytest.raises(UserError, match=r"model\.json: the model was trained with tokenizer 0+"):
        load_run_model(copy)


def test_sample_prints_the_prompt_and_a_continuation(trained, data_cache):
    _, run_dir, _ = trained
    argv = ["scaling", "sample", str(run_dir), "--prompt", "The"]
    first = run_cli(argv, cache=data_cache, check=True, timeout=120)
    assert first.stdout.startswith("The") and len(first.stdout.rstrip("\n")) > len("The")
    again = run_cli(argv, cache=data_cache, check=True, timeout=120)
    assert again.stdout == first.stdout  # greedy decoding is deterministic
    drawn = [*argv, "--temperature", "1", "--top-k", "20", "--seed", "3"]
    a = run_cli(drawn, cache=data_cache, check=True, timeout=120)
    b = run_cli(drawn, cache=data_cache, check=True, timeout=120)
    assert a.stdout == b.stdout and a.stdout.startswith("The")


def _bad_inputs(run_dir: pathlib.Path, unfinished: pathlib.Path) -> dict[str, list[str]]:
    return {
        "not a directory": [str(run_dir / "nowhere"), "--prompt", "The"],
        "no model.safetensors": [str(unfinished), "--prompt", "The"],
        "--prompt is empty": [str(run_dir), "--prompt", ""],
        "--temperature=-1.0": [str(run_dir), "--prompt", "The", "--temperature", "-1"],
    }


def test_sample_rejects_bad_input_in_one_line(trained, data_cache, tmp_path):
    _, run_dir, _ = trained
    (tmp_path / layout.CONFIG).write_text((run_dir / layout.CONFIG).read_text())
    for expected, args in _bad_inputs(run_dir, tmp_path).items():
        proc = run_cli(["scaling", "sample", *args], cache=data_cache, timeout=120)
        assert proc.returncode == 2, (expected, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (expected, proc.stderr)
        assert expected in lines[0] and "Traceback" not in proc.stderr


def test_the_analysis_cli_starts_without_torch():
    code = (
        "import sys; from scaling.cli.main import build_parser; build_parser(); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run_cli(["python", "-c", code], check=True)


class _Evil:
    """Unpickling this runs code (makes the directory ``marker``): what weights_only=True must
    refuse."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_checkpoint_holding_an_object_is_refused_and_the_run_starts_over(tmp_path, capsys):
    run = tiny_run(out_dir=tmp_path)
    run_dir = tmp_path / identity.run_id(run.to_dict())
    run_dir.mkdir()
    marker = tmp_path / "unpickled"
    evil = {"step": 5, "payload": _Evil(marker)}
    torch.save(evil, run_dir / layout.CHECKPOINT)
    record = execute(run)
    assert not marker.exists()  # the object was never rebuilt
    assert "checkpoint unreadable" in capsys.readouterr().err
    assert record is not None and record["resumed_from_step"] is None
    assert not (run_dir / layout.CHECKPOINT).exists()
    torch.save(evil, tmp_path / "evil.pt")  # the payload is real: full unpickling runs it
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.is_dir()


class _StopAfterFirstEval(Hooks):
    """Writes the checkpoint the runner would write at the first periodic evaluation, then
    stops the run as a kill would."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.step: int | None = None

    def on_eval(self, record, trainer) -> None:
        save_checkpoint(trainer, self.path)
        self.step = trainer.step
        raise KeyboardInterrupt


def test_a_normal_checkpoint_loads_weights_only_and_resumes(tmp_path):
    run = tiny_run(out_dir=tmp_path)
    run_dir = tmp_path / identity.run_id(run.to_dict())
    run_dir.mkdir()
    hooks = _StopAfterFirstEval(run_dir / layout.CHECKPOINT)
    with pytest.raises(KeyboardInterrupt):
        Trainer(run).run_to_end(hooks)
    state = load_checkpoint(run_dir / layout.CHECKPOINT)  # weights_only=True
    assert state["step"] == hooks.step > 0
    record = execute(run)
    assert record is not None and record["resumed_from_step"] == hooks.step


def test_a_pack_members_checkpoint_loads_weights_only(tmp_path):
    import dataclasses

    from scaling.train.pack_runner import train_pack

    a = tiny_run(out_dir=tmp_path)
    b = dataclasses.replace(a, seed=1)
    hooks = _StopAfterFirstEval(tmp_path / layout.CHECKPOINT)
    with pytest.raises(KeyboardInterrupt):
        train_pack([Trainer(a), Trainer(b)], [hooks, Hooks()])
    state = load_checkpoint(tmp_path / layout.CHECKPOINT)
    assert state["step"] == hooks.step > 0 and state["optimizer"]["state"]
    resumed = Trainer(a)
    resumed.load_state_dict(state)
    assert resumed.step == hooks.step
