"""``BasicOpponent``: the course's hand-coded hockey player, a PD controller, re-implemented.

It reads the observation from its own side (``env.obs_agent_two()`` when it plays on the right), so it always
"plays from the left".  Every step it picks a target for its racket:

* the puck is coming, lying still or leaving slowly (puck vx < 0.5 m/s):
  - the racket is behind the puck and level with it (|dy| < 0.5): attack, aim 0.2 m beyond the puck, leading
    it by its y-velocity;
  - otherwise get behind it: go to x = -3.5 at the puck's height;
* the puck is leaving fast: defend, go home to (-3.5, 0);

and a target angle that wobbles, (pi/3) sin(phase), the phase advancing by U(0, 0.2) per step.  The action is a
PD law: error * gain, minus velocity * 0.5 on the axes where the racket would reach its target within 0.1 s
(1 s for the angle) at its current speed.  Gains: x kp, y kp/5, angle kp/2, with kp = 0.5 (weak) or 10
(strong), the only difference between the two.  In keep mode it shoots when its timer reads 1..6, i.e. in the
10th step after catching the puck, 4 steps before the automatic shot.
"""
from __future__ import annotations

import math

import numpy as np

HOME_X = -210 / 60              # -3.5: the defensive line, just in front of the own goal
ATTACK_LEAD = 0.2               # aim this far beyond the puck (m)
PUCK_LEAVING_SPEED = 30 / 60    # 0.5 m/s
LEVEL_WITH_PUCK = 0.5           # |dy| below this counts as level with the puck (m)
KD = 0.5
TIME_TO_BREAK = (0.1, 0.1, 1.0)  # s: damp an axis once the target is this close in time (x, y, angle)
MAX_ANGLE = math.pi / 3


class BasicOpponent:
    """The weak (default) or strong scripted player; ``act(obs_from_its_side) -> float32 action``.

    ``rng``: the numpy ``Generator`` its random phase comes from.  ``HockeyVsOpponent`` passes the env's own
    ``np_random``, so a seeded env fixes the opponent too.  Difference from the official package: the official
    BasicOpponent draws from numpy's global random state (``np.random``); without ``rng`` this one makes its
    own unseeded generator.
    """

    def __init__(self, weak: bool = True, keep_mode: bool = True, rng: np.random.Generator | None = None):
        self.weak = bool(weak)
        self.keep_mode = bool(keep_mode)
        self.kp = 0.5 if self.weak else 10.0
        self.rng = rng if rng is not None else np.random.default_rng()
        self.reset()

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """A new game: a fresh random phase, drawn from ``rng`` when given (it then replaces the old generator)."""
        if rng is not None:
            self.rng = rng
        self.phase = self.rng.uniform(0.0, math.pi)

    def target(self, obs) -> tuple[float, float, float]:
        """Where the racket should be: (x, y, angle) in the opponent's own observation frame."""
        x, y = obs[0], obs[1]
        puck_x, puck_y, puck_vx, puck_vy = obs[12], obs[13], obs[14], obs[15]
        if puck_vx < PUCK_LEAVING_SPEED:
            if x < puck_x and abs(y - puck_y) < LEVEL_WITH_PUCK:
                distance = math.hypot(x - puck_x, y - puck_y)
                target_x, target_y = puck_x + ATTACK_LEAD, puck_y + puck_vy * distance * 0.1
            else:
                target_x, target_y = HOME_X, puck_y
        else:
            target_x, target_y = HOME_X, 0.0
        return target_x, target_y, MAX_ANGLE * math.sin(self.phase)

    def act(self, obs) -> np.ndarray:
        """One action (4 numbers, 3 without keep mode) for the observation seen from this player's side."""
        obs = np.asarray(obs, dtype=np.float64).tolist()
        self.phase += self.rng.uniform(0.0, 0.2)
        gains = (self.kp, self.kp / 5, self.kp / 2)
        action = []
        for i, goal in enumerate(self.target(obs)):
            position, velocity = obs[i], obs[i + 3]     # x, y, angle and their rates
            error = goal - position
            close_in_time = abs(error / (velocity + 0.01)) < TIME_TO_BREAK[i]
            push = error * gains[i] - (velocity * KD if close_in_time else 0.0)
            action.append(min(1.0, max(-1.0, push)))
        if self.keep_mode:
            action.append(1.0 if 0 < obs[16] < 7 else 0.0)
        return np.array(action, dtype=np.float32)

    __call__ = act
