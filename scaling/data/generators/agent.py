"""Agent episodes in a small simulated world: walk through rooms to a goal, collecting coins.

An act/observe trace in the ReAct style (Yao et al. 2023, "ReAct: Synergizing Reasoning and
Acting in Language Models", Sec. 2: interleaved actions and environment observations) over a
text world in the spirit of TextWorld/ALFWorld (Cote et al. 2018; Shridhar et al. 2021). Rooms
are joined by doors into a tree; every room but the start holds 1..9 coins, picked up on the
first visit. The agent must go from the start to the goal::

    Doors: c-f f-k b-f k-m. Coins: b3 c2 f5 k1 m4. Go c to m.
    ACT move(f) | OBS in f, coins 5
    ACT move(k) | OBS in k, coins 6
    ACT move(m) | OBS in m, coins 10
    A: in m, coins 10

The gold plan is the unique path in the tree (so the final state is unique); the answer is the
final state (room and coins collected). ``verify`` compares the answer with the gold plan's final
state; ``verify_steps`` replays the written actions in the simulator: a step is correct iff its
move goes through a door, is the next room on the path from where the agent really is to the
goal, and its observation is what the simulator reports. An action retracted by
``RETRY_MARKER`` is treated as never taken (a proposal withdrawn before acting).

``difficulty`` = moves on the path (default mixture 1..4); 1-2 distractor rooms hang off the
path. Lengths in bytes (measured over 10,000 default examples, ``generate(10_000, seed=0)``,
train split; seed 1 gives the same ranges): prompt 41-69 (mean 55), steps 32-33 each, trace
90-218 (mean 154), completion at most 149.

Noisy steps: a miscounted coin total (the agent then carries the wrong total forward), or a move
into the wrong room (a legal detour, or a move through a door that does not exist, which the
simulator ignores); after a detour the agent walks back, collecting coins on the way, so the
final state differs from the gold plan's.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, ClassVar

from scaling.data.generators.base import BaseGenerator, Example, make_example, pick_distinct

_LABELS = "abcdefghjkmnpqrstuvwxyz"
_STEP = re.compile(r"^ACT move\(([a-z])\) \| OBS in ([a-z]), coins (\d+)$")
_MOVE = re.compile(r"^ACT move\(([a-z])\)")


def _adjacency(doors: list[list[str]]) -> dict[str, set[str]]:
    adj: dict[str, set[str]] = {}
    for u, v in doors:
        adj.setdefault(u, set()).add(v)
        adj.setdefault(v, set()).add(u)
    return adj


def _next_hop(adj: dict[str, set[str]], here: str, goal: str) -> str | None:
    """The neighbour of ``here`` on the (unique, tree) path to ``goal``; None at the goal."""
    if here == goal:
        return None
    parent: dict[str, str] = {goal: goal}
    frontier = [goal]
    while frontier:
        nxt = []
        for u in frontier:
            for v in sorted(adj.get(u, ())):
                if v not in parent:
                    parent[v] = u
                    nxt.append(v)
        frontier = nxt
    return parent.get(here)


def _state_text(room: str, total: int) -> str:
    return f"in {room}, coins {total}"


class World:
    """The simulator: position, rooms already emptied, coins collected."""

    def __init__(self, problem: dict) -> None:
        self.adj = _adjacency(problem["doors"])
        self.coins: dict[str, int] = dict(problem["coins"])
        self.goal: str = problem["goal"]
        self.room: str = problem["start"]
        self.visited = {self.room}
        self.total = 0

    def move(self, room: str) -> bool:
        """Take a door; False (and nothing happens) if there is no door to ``room``."""
        if room not in self.adj.get(self.room, ()):
            return False
        self.room = room
        if room not in self.visited:
            self.visited.add(room)
            self.total += self.coins.get(room, 0)
        return True

    def gain(self, room: str) -> int:
        return 0 if room in self.visited else self.coins.get(room, 0)

    def replay(self, lines: list[str]) -> World:
        for line in lines:
            m = _MOVE.match(line)
            if m is not None:
                self.move(m.group(1))
        return self


class Agent(BaseGenerator):
    """Room-to-room navigation episodes with coin collection, checked by simulation."""

    name: ClassVar[str] = "agent"
    PARAMS: ClassVar[tuple[str, ...]] = ("difficulty",)
    DIFFICULTY_RANGE: ClassVar[tuple[int, int]] = (1, 10)
    DEFAULT_MIXTURE: ClassVar[tuple[int, ...]] = (1, 2, 3, 4)

    def _sample(self, rng: random.Random, difficulty: int) -> tuple[str, Any]:
        rand = rng.random
        extra = 1 + int(rand() * 2)
        rooms = pick_distinct(rand, _LABELS, difficulty + 1 + extra)
        path = rooms[: difficulty + 1]
        doors = [sorted(pair) for pair in itertools.pairwise(path)]
        for k in range(difficulty + 1, len(rooms)):
            doors.append(sorted([rooms[k], rooms[int(rand() * k)]]))
        doors.sort()
        coins = {r: 1 + int(rand() * 9) for r in sorted(rooms) if r != path[0]}
        problem = {"doors": doors, "coins": coins, "start": path[0], "goal": path[-1]}
        key = (
            "agent/"
            + " ".join(f"{u}-{v}" for u, v in doors)
            + "/"
            + " ".join(f"{r}{c}" for r, c in coins.items())
            + f"/{path[0]}>{path[-1]}"
        )
        return key, (problem, path)

    def _build(self, uid: str, key: str, problem: Any, difficulty: int) -> Example:
        problem, path = problem
        doors = " ".join(f"{u}-{v}" for u, v in problem["doors"])
        coins = problem["coins"]
        steps = []
        total = 0
        for room in path[1:]:  # the path is the tree's unique path: the gold plan
            total += coins[room]
            steps.append(f"ACT move({room}) | OBS {_state_text(room, total)}\n")
        coin_text = " ".join(f"{r}{c}" for r, c in coins.items())
        return make_example(
            uid,
            f"Doors: {doors}. Coins: {coin_text}. Go {problem['start']} to {problem['goal']}.\n",
            tuple(steps),
            _state_text(path[-1], total),
            {"generator": self.name, "difficulty": difficulty, "problem": problem},
        )

    @staticmethod
    def _correct_rest(problem: dict, prior: list[str], belief: int | None) -> tuple[list[str], str]:
        """Walk the path from where the agent really is; ``belief`` = the coin total it thinks
        it has (None: the true total). Returns the lines and the final state it reports."""
        world = World(problem).replay(prior)
        total = world.total if belief is None else belief
        lines = []
        for _ in range(4 * len(world.adj) + 4):
            nxt = _next_hop(world.adj, world.room, world.goal)
            if nxt is None:
                break
            total += world.gain(nxt)
            world.move(nxt)
            lines.append(f"ACT move({nxt}) | OBS {_state_text(nxt, total)}")
        return lines, _state_text(world.room, total)

    def gold(self, example: Example) -> tuple[list[str], str]:
        return self._correct_rest(example.meta["problem"], [], None)

    def params(self) -> dict[str, Any]:
        return {"difficulty": self.difficulty}

    def _check(self, example: Example, prior: list[str], line: str) -> bool:
        m = _STEP.match(line)
        if m is None:
            return False
        world = World(example.meta["problem"]).replay(prior)
        target = m.group(1)
        if target != _next_hop(world.adj, world.room, world.goal):
            return False
        world.move(target)
        return m.group(2) == target and int(m.group(3)) == world.total

    def _correct(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        return self._correct_rest(example.meta["problem"], prior, None)

    def _continue(self, example: Example, prior: list[str]) -> tuple[list[str], str]:
        belief = None
        for line in reversed(prior):
            m = _STEP.match(line)
            if m is not None:
                belief = int(m.group(3))
                break
        if belief is None and prior:
            belief = World(example.meta["problem"]).replay(prior).total
        return self._correct_rest(example.meta["problem"], prior, belief)

    def _corrupt(self, example: Example, prior: list[str], line: str, rng: random.Random) -> str:
        problem = example.meta["problem"]
        world = World(problem).replay(prior)
        belief = world.total
        for earlier in reversed(prior):
            m = _STEP.match(earlier)
            if m is not None:
                belief = int(m.group(3))
                break
        m = _STEP.match(line)
        if m is not None and rng.random() < 0.5:  # a miscounted total
            wrong = int(m.group(3)) + rng.choice((-2, -1, 1, 2))
            wrong = wrong if wrong >= 0 else int(m.group(3)) + 1
            return f"ACT move({m.group(1)}) | OBS {_state_text(m.group(2), wrong)}"
        right = _next_hop(world.adj, world.room, world.goal)
        detours = sorted(r for r in world.adj.get(world.room, ()) if r != right)
        if not detours:  # no other door: a move through a wall, imagined as if it worked
            detours = sorted(r for r in world.adj if r not in world.adj[world.room] | {world.room})
        room = detours[rng.randrange(len(detours))]
        return f"ACT move({room}) | OBS {_state_text(room, belief + world.gain(room))}"
