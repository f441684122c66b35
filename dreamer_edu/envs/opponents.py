"""BasicOpponent: the course's hand-coded hockey player (a PD controller), re-implemented.

It reads the observation from its own side (``env.obs_agent_two()`` when it plays on the right), so it always
"plays from the left".  Each step it picks a target for its racket:

* the puck is coming, still or slowly leaving (puck vx < 0.5), and the racket is behind the puck and level
  with it (|dy| < 0.5): attack, aim just beyond the puck, leading it by its y-velocity;
* the puck is coming but the racket is not behind it: go back to x = -3.5 at the puck's height;
* the puck is moving away fast: defend, return to (-3.5, 0);

and a target angle that wobbles slowly, (pi/3)·sin(phase) with the phase advancing by U(0, 0.2) per step.
Action = clip(error * (kp, kp/5, kp/2) - velocity * kd where the racket would arrive within 0.1 s, -1, 1).
It shoots 10 steps after catching the puck (timer between 1 and 6).  Weak and strong differ only in kp
(0.5 versus 10).

Difference from the official package: the phase is drawn from the generator it is given (the env's own
seeded generator in ``HockeyVsOpponent``), not from numpy's global random state.
"""
from __future__ import annotations

import math

import numpy as np

ATTACK_LEAD = 0.2           # aim this far beyond the puck (m)
HOME_X = -210 / 60          # -3.5: the defensive line
PUCK_LEAVING_SPEED = 30 / 60  # 0.5 m/s
KD = 0.5
MAX_ANGLE = math.pi / 3
TIME_TO_BREAK = 0.1


class BasicOpponent:
    def __init__(self, weak: bool = True, keep_mode: bool = True, rng: np.random.Generator | None = None):
        self.weak = bool(weak)
        self.keep_mode = keep_mode
        self.kp = 0.5 if self.weak else 10.0
        self.rng = rng if rng is not None else np.random.default_rng()
        self.reset()

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Start a new game: a fresh random phase (from ``rng`` if given, which then replaces the old one)."""
        if rng is not None:
            self.rng = rng
        self.phase = float(self.rng.uniform(0, math.pi))

    def act(self, obs) -> np.ndarray:
        o = np.asarray(obs, dtype=np.float64)
        self.phase += float(self.rng.uniform(0, 0.2))
        x, y, angle = o[0], o[1], o[2]
        v = o[3:6]
        puck_x, puck_y, puck_vx, puck_vy = o[12], o[13], o[14], o[15]

        if puck_vx < PUCK_LEAVING_SPEED:
            dist = math.hypot(x - puck_x, y - puck_y)
            if x < puck_x and abs(y - puck_y) < 0.5:
                target = (puck_x + ATTACK_LEAD, puck_y + puck_vy * dist * 0.1)
            else:
                target = (HOME_X, puck_y)
        else:
            target = (HOME_X, 0.0)
        target_angle = MAX_ANGLE * math.sin(self.phase)

        error = np.array([target[0] - x, target[1] - y, target_angle - angle])
        need_break = np.abs(error / (v + 0.01)) < np.array([TIME_TO_BREAK, TIME_TO_BREAK, 10 * TIME_TO_BREAK])
        gains = np.array([self.kp, self.kp / 5, self.kp / 2])
        action = np.clip(error * gains - v * need_break * KD, -1.0, 1.0)
        if not self.keep_mode:
            return action.astype(np.float32)
        shoot = 1.0 if 0 < o[16] < 7 else 0.0
        return np.append(action, shoot).astype(np.float32)

    __call__ = act

