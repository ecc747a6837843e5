"""Frontier-data generators: renderings, verifiers, split disjointness, determinism, budgets."""

from __future__ import annotations

import json
import random
import re
from collections import deque

import pytest

from scaling.core.errors import UserError
from scaling.data import generators as G
from scaling.data.generators import (
    ANSWER_PREFIX,
    RETRY_MARKER,
    TRACE_BYTE_BUDGET,
    Example,
    Generator,
)
from scaling.data.generators.base import check_example, is_heldout_uid, problem_uid
from scaling.data.generators.igsm import MOD
from scaling.data.generators.tool_use import KB
from tests.conftest import ANCHORS

LEE_FILE = ANCHORS / "lee2023_addition_test_10000.txt"

CONFIGS = [
    ("arithmetic", {}),
    ("arithmetic", {"fmt": "plain"}),
    ("arithmetic", {"fmt": "reversed"}),
    ("arithmetic", {"ops": ["add", "mul"], "digits": 3}),
    ("arithmetic", {"digits": 2}),
    ("igsm", {}),
    ("tool_use", {}),
    ("agent", {}),
    ("retry", {}),
    ("retry", {"base": "igsm"}),
    ("retry", {"base": "tool_use"}),
    ("retry", {"base": "agent"}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}" for name, p in CONFIGS]


@pytest.fixture(scope="module", params=CONFIGS, ids=IDS)
def gen_examples(request):
    """A generator and 80 of its examples (train and held-out); examples are immutable."""
    name, params = request.param
    gen = G.get(name, **params)
    examples = gen.generate(60, seed=7) + gen.generate(20, seed=8, split="heldout")
    return gen, examples


def _wrong_answer(answer: str) -> str:
    if answer and answer[-1].isdigit():
        return answer[:-1] + str((int(answer[-1]) + 1) % 10)
    return answer + "x"


def _retracted(lines: list[str], i: int) -> bool:
    return i + 1 < len(lines) and lines[i + 1].rstrip("\n") == RETRY_MARKER


# ---- registry and parameters --------------------------------------------------------------
def test_registry_names_and_protocol():
    assert G.names() == ["agent", "arithmetic", "igsm", "mix", "retry", "tool_use"]
    for name in G.names():
        gen = G.get(name)
        assert isinstance(gen, Generator)
        assert gen.name == name


def test_unknown_generator_lists_known_names():
    with pytest.raises(UserError, match=r"unknown.*agent, arithmetic, igsm, mix, retry, tool_use"):
        G.get("nope")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("arithmetic", {"fmt": "latex"}, r"arithmetic\.fmt='latex'.*scratchpad, plain, reversed"),
        ("arithmetic", {"ops": ["div"]}, r"arithmetic\.ops"),
        ("arithmetic", {"ops": []}, r"arithmetic\.ops"),
        ("arithmetic", {"digits": 0}, r"arithmetic\.digits=0"),
        ("arithmetic", {"digits": "3"}, r"arithmetic\.digits"),
        ("arithmetic", {"difficulty": 99}, r"arithmetic\.difficulty=99"),
        ("arithmetic", {"colour": 1}, r"unknown parameter 'colour'"),
        ("igsm", {"difficulty": 0}, r"igsm\.difficulty=0"),
        ("tool_use", {"difficulty": 9}, r"tool_use\.difficulty=9"),
        ("agent", {"rooms": 3}, r"unknown parameter 'rooms'"),
        ("retry", {"base": "retry"}, r"retry\.base='retry'"),
        ("retry", {"fmt": "plain"}, r"no steps to retry"),
    ],
)
def test_bad_parameters_are_user_errors(name, params, match):
    with pytest.raises(UserError, match=match):
        G.get(name, **params)


def test_bad_generate_arguments():
    gen = G.get("arithmetic")
    with pytest.raises(UserError, match="split='test'"):
        gen.generate(3, seed=0, split="test")
    with pytest.raises(UserError, match="difficulty"):
        gen.generate(3, seed=0, difficulty=0)
    with pytest.raises(UserError, match="n=-1"):
        gen.generate(-1, seed=0)
    assert gen.generate(0, seed=0) == []


def test_unknown_form_is_user_error():
    gen = G.get("igsm")
    ex = gen.generate(1, seed=0)[0]
    for fn in (gen.render, gen.segments):
        with pytest.raises(UserError, match=r"form='json'.*trace, outputs_only"):
            fn(ex, "json")


# ---- the contract, for every generator ------------------------------------------------------
def test_examples_satisfy_the_format(gen_examples):
    gen, examples = gen_examples
    for ex in examples:
        assert isinstance(ex, Example)
        check_example(ex)
        assert ex.meta["generator"] == gen.name
        json.dumps(ex.meta)


def test_renderings_and_segments(gen_examples):
    gen, examples = gen_examples
    for ex in examples:
        answer_line = ANSWER_PREFIX + ex.answer + "\n"
        assert gen.render(ex, "outputs_only") == ex.prompt + answer_line
        assert gen.render(ex, "trace") == ex.prompt + "".join(ex.steps) + answer_line
        assert gen.render(ex) == gen.render(ex, "trace")
        for form in ("trace", "outputs_only"):
            segs = gen.segments(ex, form)
            assert "".join(text for text, _ in segs) == gen.render(ex, form)
            assert {role for _, role in segs} <= {"prompt", "trace", "answer"}
            assert segs[0] == (ex.prompt, "prompt")
            assert segs[-1] == (answer_line, "answer")
            assert all(text for text, _ in segs)
        roles = [role for _, role in gen.segments(ex, "outputs_only")]
        assert roles == ["prompt", "answer"]  # no trace lines in outputs-only data


def test_outputs_only_contains_no_trace_lines(gen_examples):
    gen, examples = gen_examples
    for ex in examples:
        lines = gen.render(ex, "outputs_only").splitlines(keepends=True)
        assert lines == [*ex.prompt.splitlines(keepends=True), f"A: {ex.answer}\n"]
        for step in ex.steps:
            assert step not in gen.completion(ex, "outputs_only")


def test_gold_completion_verifies(gen_examples):
    gen, examples = gen_examples
    for ex in examples:
        for form in ("trace", "outputs_only"):
            assert gen.verify(ex, gen.completion(ex, form))
        flags = gen.verify_steps(ex, gen.completion(ex))
        assert len(flags) == len(ex.steps)
        lines = list(ex.steps)
        for i, ok in enumerate(flags):
            if gen.name == "retry" and _retracted(lines, i):
                assert not ok  # the deliberate mistake
            else:
                assert ok, (i, gen.render(ex))


def test_wrong_answer_does_not_verify(gen_examples):
    gen, examples = gen_examples
    for ex in examples:
        bad = "".join(ex.steps) + ANSWER_PREFIX + _wrong_answer(ex.answer) + "\n"
        assert not gen.verify(ex, bad)
        assert not gen.verify(ex, "".join(ex.steps))  # no answer line at all
        assert not gen.verify(ex, f"A: {ex.answer}0\n")


def test_only_the_first_answer_line_counts(gen_examples):
    gen, examples = gen_examples
    ex = examples[0]
    right, wrong = f"A: {ex.answer}\n", f"A: {_wrong_answer(ex.answer)}\n"
    assert gen.verify(ex, right + wrong + "garbage \x00\n")
    assert not gen.verify(ex, wrong + right)
    assert gen.verify(ex, f"A: {ex.answer}")  # stopped at end-of-text without the newline
    assert gen.verify(ex, f"A:  {ex.answer} \n")  # surrounding spaces are not part of it
    assert not gen.verify(ex, f" A: {ex.answer}\n")  # the line must start with "A: "


def test_corrupted_step_is_flagged_at_that_step(gen_examples):
    gen, examples = gen_examples
    rng = random.Random(0)
    checked = 0
    for ex in examples:
        lines = list(ex.steps)
        for i, line in enumerate(lines):
            if line.rstrip("\n") == RETRY_MARKER or _retracted(lines, i):
                continue
            wrong = gen.corrupt_step(ex, i, rng)
            assert wrong.endswith("\n") and wrong != line
            completion = "".join(lines[:i]) + wrong + "".join(lines[i + 1 :]) + f"A: {ex.answer}\n"
            flags = gen.verify_steps(ex, completion)
            assert flags[i] is False, (i, completion)
            gold_flags = gen.verify_steps(ex, gen.completion(ex))
            assert flags[:i] == gold_flags[:i]
            checked += 1
    if any(ex.steps for ex in examples):
        assert checked > 0


def test_propagated_corruption_makes_the_answer_wrong(gen_examples):
    """continue_from after a wrong step carries the error; from no prefix it is the gold trace."""
    gen, examples = gen_examples
    if gen.name == "retry":
        return
    rng = random.Random(1)
    wrong_answers = 0
    total = 0
    for ex in examples:
        steps, answer = gen.continue_from(ex, [])
        assert (tuple(steps), answer) == (ex.steps, ex.answer)
        for i in range(len(ex.steps)):
            assert gen.correct_from(ex, ex.steps[:i]) == (list(ex.steps[i:]), ex.answer)
        if not ex.steps:
            continue
        i = rng.randrange(len(ex.steps))
        wrong = gen.corrupt_step(ex, i, rng)
        _, answer = gen.continue_from(ex, [*ex.steps[:i], wrong])
        total += 1
        wrong_answers += answer != ex.answer
    if total:
        assert wrong_answers >= 0.7 * total


def test_verifiers_survive_garbage(gen_examples):
    gen, examples = gen_examples
    rng = random.Random(3)
    alphabet = "0123456789+-*=(),.:|> \nACTLmovewrongWAIT" + "\x00é☃"
    junk = ["", "\n", "A: ", "A:", "A: \n", "\n\n\nA: 1", RETRY_MARKER, RETRY_MARKER + "\nA: 0"]
    junk += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(200))) for _ in range(60)]
    junk += ["CALL calc(" + "9" * 5000 + "*9) -> 1\n", "ACT move(zz) | OBS in q, coins -1\n"]
    for ex in examples[:10]:
        for text in junk:
            assert isinstance(gen.verify(ex, text), bool)
            flags = gen.verify_steps(ex, text)
            assert isinstance(flags, list) and all(isinstance(f, bool) for f in flags)
        assert gen.verify(ex, None) is False  # type: ignore[arg-type]
        assert gen.verify_steps(ex, None) == []  # type: ignore[arg-type]


def test_train_and_heldout_are_disjoint(gen_examples):
    gen, _ = gen_examples
    train, held = set(), set()
    for seed in range(12):
        for ex in gen.generate(40, seed=seed, split="train"):
            assert not G.is_heldout(ex) and G.split_of(ex) == "train"
            train.add(ex.uid)
        for ex in gen.generate(10, seed=seed, split="heldout"):
            assert G.is_heldout(ex) and G.split_of(ex) == "heldout"
            held.add(ex.uid)
    assert train and held and not train & held


def test_same_seed_same_bytes(gen_examples):
    gen, _ = gen_examples
    name, params = gen.name, gen.params()
    a = [gen.render(ex) for ex in gen.generate(30, seed=11)]
    again = G.get(name, **{k: v for k, v in params.items() if v is not None})
    b = [again.render(ex) for ex in again.generate(30, seed=11)]
    assert a == b
    assert a != [gen.render(ex) for ex in gen.generate(30, seed=12)]
    assert a != [gen.render(ex) for ex in gen.generate(30, seed=11, split="heldout")]


def test_default_traces_fit_the_byte_budget(gen_examples):
    gen, _ = gen_examples
    longest = 0
    for seed in range(6):
        for ex in gen.generate(200, seed=seed):
            text = gen.render(ex, "trace")
            assert text.isascii()
            longest = max(longest, len(text.encode()))
    assert longest <= TRACE_BYTE_BUDGET


def test_difficulty_argument_and_parameter():
    for name, d in [("arithmetic", 2), ("igsm", 3), ("tool_use", 2), ("agent", 3)]:
        gen = G.get(name)
        assert {ex.meta["difficulty"] for ex in gen.generate(30, seed=0, difficulty=d)} == {d}
        fixed = G.get(name, difficulty=d)
        assert {ex.meta["difficulty"] for ex in fixed.generate(30, seed=0)} == {d}
        mixture = {ex.meta["difficulty"] for ex in gen.generate(200, seed=0)}
        assert len(mixture) >= 2


def test_problems_are_distinct_within_a_call_when_the_space_is_large():
    for name in ("arithmetic", "igsm", "tool_use", "agent"):
        exs = G.get(name).generate(500, seed=5, difficulty=3)
        assert len({ex.uid for ex in exs}) == 500
    for name in ("igsm", "tool_use", "agent"):
        exs = G.get(name).generate(500, seed=5)
        assert len({ex.uid for ex in exs}) == 500


def test_small_spaces_are_used_up_then_repeat():
    gen = G.get("arithmetic", digits=1)
    exs = gen.generate(300, seed=0)
    uids = {ex.uid for ex in exs}
    assert 80 <= len(uids) <= 100  # ~90 one-digit train problems, then repeats
    held = gen.generate(30, seed=0, split="heldout")
    assert {ex.uid for ex in held}.isdisjoint(uids)


def test_heldout_rule_is_about_one_in_ten():
    uids = [problem_uid(f"probe/{i}") for i in range(20000)]
    frac = sum(is_heldout_uid(u) for u in uids) / len(uids)
    assert 0.09 < frac < 0.11


# ---- arithmetic --------------------------------------------------------------------------
def test_arithmetic_formats():
    plain, rev, pad = (G.get("arithmetic", fmt=f) for f in ("plain", "reversed", "scratchpad"))
    for a_ex, r_ex, s_ex in zip(
        plain.generate(200, seed=4),
        rev.generate(200, seed=4),
        pad.generate(200, seed=4),
        strict=True,
    ):
        p = s_ex.meta["problem"]
        assert a_ex.uid == r_ex.uid == s_ex.uid and a_ex.prompt == s_ex.prompt
        assert s_ex.prompt == f"{p['a']}+{p['b']}\n"
        assert a_ex.answer == s_ex.answer == str(p["a"] + p["b"])
        assert r_ex.answer == str(p["a"] + p["b"])[::-1]
        assert a_ex.steps == r_ex.steps == ()
        assert plain.render(a_ex, "trace") == plain.render(a_ex, "outputs_only")
        assert pad.render(s_ex, "outputs_only") == plain.render(a_ex, "outputs_only")
        assert len(s_ex.steps) == max(len(str(p["a"])), len(str(p["b"])))
        assert rev.verify(r_ex, f"A: {r_ex.answer}\n")
        if r_ex.answer != a_ex.answer:
            assert not rev.verify(r_ex, f"A: {a_ex.answer}\n")  # must be written reversed


def test_scratchpad_steps_are_the_carry_algorithm():
    gen = G.get("arithmetic")
    ex = gen.make(128, 367)
    assert ex.steps == ("8+7+0=15, 5 c1\n", "2+6+1=9, 9 c0\n", "1+3+0=4, 4 c0\n")
    assert gen.render(ex) == "128+367\n8+7+0=15, 5 c1\n2+6+1=9, 9 c0\n1+3+0=4, 4 c0\nA: 495\n"
    ex = gen.make(95, 7)
    assert ex.steps == ("5+7+0=12, 2 c1\n", "9+0+1=10, 0 c1\n") and ex.answer == "102"


def test_multiplication_scratchpad():
    gen = G.get("arithmetic", ops=["mul"])
    ex = gen.make(128, 367, "mul")
    assert ex.prompt == "128*367\n"
    assert ex.steps == ("128*7=896\n", "128*60=7680\n", "128*300=38400\n", "896+7680+38400=46976\n")
    assert ex.answer == "46976"
    for ex in gen.generate(200, seed=1):
        p = ex.meta["problem"]
        assert int(ex.answer) == p["a"] * p["b"]
        assert all(gen.verify_steps(ex, gen.completion(ex)))
    both = G.get("arithmetic", ops=["add", "mul"]).generate(200, seed=1)
    assert {ex.meta["op"] for ex in both} == {"add", "mul"}


def test_arithmetic_balanced_digits():
    exs = G.get("arithmetic").generate(3000, seed=2)
    counts = {d: sum(ex.meta["difficulty"] == d for ex in exs) for d in (1, 2, 3)}
    assert all(900 < c < 1100 for c in counts.values())  # the mixture is exact, not shifted
    one_digit = {ex.uid for ex in exs if ex.meta["difficulty"] == 1}
    assert 80 <= len(one_digit) <= 100  # the small space is used up, then repeats
    assert len({ex.uid for ex in exs if ex.meta["difficulty"] == 3}) == counts[3]
    for ex in exs:
        p = ex.meta["problem"]
        assert max(len(str(p["a"])), len(str(p["b"])), 1) == ex.meta["difficulty"]


def test_is_heldout_problem_matches_generated_splits():
    gen = G.get("arithmetic")
    for split in ("train", "heldout"):
        for ex in gen.generate(50, seed=0, split=split):
            p = ex.meta["problem"]
            assert G.is_heldout_problem(p["a"], p["b"], p["op"]) == (split == "heldout")


@pytest.mark.skipif(not LEE_FILE.exists(), reason="shared anchors not available")
def test_load_lee2023_anchor_file():
    exs = G.load_lee2023(LEE_FILE)
    assert len(exs) == 9900
    gen = G.get("arithmetic")
    for ex in exs:
        assert gen.verify(ex, gen.completion(ex))
        assert all(gen.verify_steps(ex, gen.completion(ex)))
    first = exs[0]
    assert first.prompt == "0+10\n" and first.answer == "10"
    overlap = G.heldout_overlap(exs)
    assert overlap["n"] == 9900 and overlap["heldout"] + overlap["train"] == 9900
    assert 0.08 < overlap["heldout"] / 9900 < 0.12
    p = exs[5].meta["problem"]
    assert G.is_heldout_problem(p["a"], p["b"]) == G.is_heldout(exs[5])
    rev = G.load_lee2023(LEE_FILE, fmt="reversed")
    assert rev[-1].answer == str(int(exs[-1].answer))[::-1] and rev[-1].steps == ()


def test_load_lee2023_rejects_bad_lines(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1+1=2\n2+2=5\n")
    with pytest.raises(UserError, match=r"bad.txt:2: 2\+2 is 4"):
        G.load_lee2023(bad)
    bad.write_text("1+1=2\nhello\n")
    with pytest.raises(UserError, match=r"bad.txt:2: expected 'a\+b=c'"):
        G.load_lee2023(bad)
    with pytest.raises(UserError, match="not a file"):
        G.load_lee2023(tmp_path / "missing.txt")


# ---- igsm: an independent solver reads the prompt --------------------------------------------
def _solve_igsm_prompt(prompt: str) -> int:
    *statements, question = [s.strip() for s in prompt.strip().split(".")]
    query = re.fullmatch(r"How many (\w+)\?", question).group(1)
    defs = {}
    for s in statements:
        name, expr = s.split(": ")
        defs[name.lower()] = expr

    def value(name: str) -> int:
        expr = defs[name]
        if expr.isdigit():
            return int(expr)
        if m := re.fullmatch(r"(\d+) more than (\w+)", expr):
            return (value(m.group(2)) + int(m.group(1))) % MOD
        if m := re.fullmatch(r"(\d+) less than (\w+)", expr):
            return (value(m.group(2)) - int(m.group(1))) % MOD
        m = re.fullmatch(r"(\w+) (plus|minus|times) (\w+)", expr)
        x, op, y = m.groups()
        vx = int(x) if x.isdigit() else value(x)
        vy = int(y) if y.isdigit() else value(y)
        return {"plus": vx + vy, "minus": vx - vy, "times": vx * vy}[op] % MOD

    return value(query)


def test_igsm_answers_match_an_independent_solver():
    gen = G.get("igsm")
    for d in (1, 2, 3, 4, 6):
        for ex in gen.generate(50, seed=d, difficulty=d):
            assert int(ex.answer) == _solve_igsm_prompt(ex.prompt)
            assert len(ex.steps) == d
            assert all(s.startswith("Define ") for s in ex.steps)


def test_igsm_statements_are_shuffled():
    exs = G.get("igsm").generate(100, seed=0, difficulty=3)
    question_last = [ex.prompt.split(". ")[-1].startswith("How many") for ex in exs]
    assert all(question_last)
    # the statements are not in dependency order: the query's own statement moves around
    positions = set()
    for ex in exs:
        sentences = ex.prompt.split(". ")
        query = ex.meta["problem"]["query"].capitalize() + ":"
        positions.add(next(i for i, s in enumerate(sentences) if s.startswith(query)))
    assert len(positions) > 2


# ---- tool_use: replay against the knowledge base ------------------------------------------
def test_tool_use_answers_match_the_knowledge_base():
    gen = G.get("tool_use")
    for ex in gen.generate(200, seed=3):
        q = ex.prompt
        terms = re.findall(r"the (\w+) of (\w+)", q)
        values = [KB[e][a] for a, e in terms]
        ops = re.findall(r" (plus|minus) the", q)
        acc = values[0]
        if m := re.search(r"times (\d+)\?", q):
            acc *= int(m.group(1))
        for op, v in zip(ops, values[1:], strict=True):
            acc = acc + v if op == "plus" else acc - v
        assert ex.answer == str(acc)
        assert len(ex.steps) == len(terms) + max(1, len(terms) - 1)


def test_tool_use_verify_steps_replays_calls():
    gen = G.get("tool_use")
    ex = next(e for e in gen.generate(50, seed=1, difficulty=2))
    lines = list(ex.steps)
    entity_attr = re.search(r"lookup\((\w+)\.(\w+)\)", lines[0]).groups()
    true = KB[entity_attr[0]][entity_attr[1]]
    forged = f"CALL lookup({entity_attr[0]}.{entity_attr[1]}) -> {true + 1}\n"
    assert gen.verify_steps(ex, forged + "".join(lines[1:]))[0] is False
    other = "weight" if entity_attr[1] == "price" else "price"
    wrong_call = f"CALL lookup({entity_attr[0]}.{other}) -> {KB[entity_attr[0]][other]}\n"
    assert gen.verify_steps(ex, wrong_call + "".join(lines[1:]))[0] is False
    assert gen.verify_steps(ex, "".join(lines)) == [True] * len(lines)


# ---- agent: an independent path finder -----------------------------------------------------
def _solve_agent_prompt(prompt: str) -> str:
    m = re.fullmatch(r"Doors: (.*)\. Coins: (.*)\. Go (\w) to (\w)\.\n", prompt)
    doors, coins, start, goal = m.groups()
    adj: dict[str, list[str]] = {}
    for d in doors.split():
        u, v = d.split("-")
        adj.setdefault(u, []).append(v)
        adj.setdefault(v, []).append(u)
    coin = {c[0]: int(c[1:]) for c in coins.split()}
    prev = {start: None}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in prev:
                prev[v] = u
                queue.append(v)
    path, node = [], goal
    while node != start:
        path.append(node)
        node = prev[node]
    return f"in {goal}, coins {sum(coin[r] for r in path)}"


def test_agent_answers_match_an_independent_path_finder():
    gen = G.get("agent")
    for ex in gen.generate(200, seed=9):
        assert ex.answer == _solve_agent_prompt(ex.prompt)
        assert len(ex.steps) == ex.meta["difficulty"]


def test_agent_verify_steps_replays_the_world():
    gen = G.get("agent")
    ex = gen.generate(1, seed=0, difficulty=3)[0]
    p = ex.meta["problem"]
    lines = list(ex.steps)
    adjacent = {r for door in p["doors"] if p["start"] in door for r in door}
    wall = next(r for r in sorted(p["coins"]) if r not in adjacent)
    through_wall = f"ACT move({wall}) | OBS in {wall}, coins {p['coins'][wall]}\n"
    assert gen.verify_steps(ex, through_wall + "".join(lines))[0] is False
    # the walk is replayed from where the agent really is: the gold steps after it still hold
    assert gen.verify_steps(ex, through_wall + "".join(lines))[1:] == [True] * len(lines)
    miscount = lines[0].replace("coins ", "coins 1")
    assert gen.verify_steps(ex, miscount + "".join(lines[1:]))[0] is False


# ---- retry ------------------------------------------------------------------------------
def test_retry_traces_back_off_and_correct():
    gen = G.get("retry")
    base = G.get("arithmetic")
    for ex, bex in zip(gen.generate(100, seed=2), base.generate(100, seed=2), strict=True):
        assert ex.uid == bex.uid and ex.prompt == bex.prompt and ex.answer == bex.answer
        assert gen.render(ex, "outputs_only") == base.render(bex, "outputs_only")
        i = ex.meta["wrong_step"]
        assert ex.steps[i + 1] == RETRY_MARKER + "\n"
        assert ex.steps[i + 2] == bex.steps[i]
        assert ex.steps[:i] == bex.steps[:i] and ex.steps[i + 3 :] == bex.steps[i + 1 :]
        flags = gen.verify_steps(ex, gen.completion(ex))
        assert flags == [True] * i + [False, True, True] + [True] * (len(bex.steps) - i - 1)
        assert gen.verify(ex, gen.completion(ex))


def test_marker_after_a_correct_step_is_wrong():
    gen = G.get("arithmetic")
    ex = gen.make(128, 367)
    s = list(ex.steps)
    completion = s[0] + RETRY_MARKER + "\n" + "".join(s) + "A: 495\n"
    assert gen.verify_steps(ex, completion) == [True, False, True, True, True]


# ---- determinism across processes and machines ------------------------------------------------
PINNED = {
    "arithmetic": "5+4\n5+4+0=9, 9 c0\nA: 9\n",
    "igsm": "Cups: 14. Pies: 4. Hats: pies plus cups. How many hats?\n"
    "Define hats = 4+14 = 18.\nA: 18\n",
    "tool_use": "What is the price of Lorn times 9?\n"
    "CALL lookup(Lorn.price) -> 9912\nCALL calc(9912*9) -> 89208\nA: 89208\n",
    "agent": "Doors: b-d d-f d-h. Coins: b9 d4 f7. Go h to b.\n"
    "ACT move(d) | OBS in d, coins 4\nACT move(b) | OBS in b, coins 13\nA: in b, coins 13\n",
    "retry": "1+9\n0+9+0=9, 9 c0\nWAIT, that step is wrong.\n1+9+0=10, 0 c1\nA: 10\n",
}


def test_pinned_renderings():
    """The data a seed names must not drift: a change here changes every run's training data."""
    for name, text in PINNED.items():
        gen = G.get(name)
        assert text in [gen.render(ex) for ex in gen.generate(2, seed=0)], name


_DIGEST_SCRIPT = """
import hashlib
from scaling.data import generators as G
from scaling.data.correction import CorrectionConfig, apply_correction
h = hashlib.sha256()
for name in G.names():
    gen = G.get(name)
    exs = gen.generate(200, seed=3) + gen.generate(50, seed=3, split="heldout")
    cfg = CorrectionConfig(epsilon=0.3, recall=0.6, mode="retry_kept")
    res = apply_correction(gen, exs, cfg, seed=1)
    for ex in exs + res.kept:
        h.update(gen.render(ex).encode())
print(h.hexdigest())
"""


def test_same_bytes_in_every_process():
    """No salted ``hash()`` or set order leaks into the data: other PYTHONHASHSEEDs agree."""
    from tests.helpers import run_cli

    digests = set()
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed}
        out = run_cli(["python", "-c", _DIGEST_SCRIPT], env=env, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1
