"""Pictures of a hockey game: drawing the table (pygame, no window needed), recording a game, writing a GIF.

``HockeyEnv.render`` draws with ``draw_table``.  ``record_episode`` plays one game on an env made with
``render_mode="rgb_array"`` and keeps every frame; ``save_gif`` writes the frames as an animated GIF.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import hockey as h

BACKGROUND = (255, 255, 255)
LINES = (200, 200, 200)
WALLS = (40, 40, 40)
PLAYER_ONE = (235, 98, 53)      # red: left, attacks the right goal
PLAYER_TWO = (93, 158, 199)     # blue: right
PUCK = (20, 20, 20)


def _px(x: float, y: float) -> tuple[int, int]:
    """World metres -> screen pixels (the screen's y axis points down)."""
    return round(x * h.SCALE), round(h.VIEWPORT_H - y * h.SCALE)


def _polygon(body) -> list[tuple[int, int]]:
    """The screen corners of a body's first (polygon) fixture."""
    transform = body.transform
    return [_px(*(transform * v)) for v in body.fixtures[0].shape.vertices]


def draw_table(env, surface) -> None:
    """Draw the env's current state on a pygame ``surface`` of 600 x 480 pixels."""
    import pygame

    surface.fill(BACKGROUND)
    cx, cy = _px(h.CENTER_X, h.CENTER_Y)
    pygame.draw.line(surface, LINES, (cx, 0), (cx, h.VIEWPORT_H), 3)
    pygame.draw.circle(surface, LINES, (cx, cy), 100, 3)
    for goal, colour in ((env.goal_player_1, PLAYER_ONE), (env.goal_player_2, PLAYER_TWO)):
        gx, gy = _px(*goal.position)
        pygame.draw.circle(surface, LINES, (gx, gy), round(h.GOAL_SIZE * h.SCALE), 3)
        pygame.draw.polygon(surface, colour, _polygon(goal))
    for wall in env.walls:
        pygame.draw.polygon(surface, WALLS, _polygon(wall))
    rackets = ((env.player1, PLAYER_ONE, env.player1_has_puck), (env.player2, PLAYER_TWO, env.player2_has_puck))
    for racket, colour, timer in rackets:
        pygame.draw.polygon(surface, colour, _polygon(racket))
        if timer:  # a racket holding the puck gets a dark outline
            pygame.draw.polygon(surface, PUCK, _polygon(racket), 2)
    puck_x, puck_y = env.puck.position
    pygame.draw.circle(surface, PUCK, _px(puck_x, puck_y), round(h.PUCK_RADIUS * h.SCALE))


def record_episode(env, policy=None, seed: int | None = None, max_steps: int | None = None):
    """Play one game on an env made with ``render_mode="rgb_array"`` and keep every frame.

    ``policy(obs) -> action``; None plays random actions (seeded with ``seed``).  Returns ``(frames, info)``:
    the reset frame plus one frame per step, and the last step's info dict (``info["winner"]``).
    """
    if getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError("record_episode needs an env made with render_mode='rgb_array'")
    if seed is not None:
        env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    frames = [env.render()]
    steps, done = 0, False
    while not done and (max_steps is None or steps < max_steps):
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, _, terminated, truncated, info = env.step(action)
        frames.append(env.render())
        done = terminated or truncated
        steps += 1
    return frames, info


def save_gif(frames, path, fps: int = 25) -> Path:
    """Write frames (each (H, W, 3) uint8) as an animated GIF at ``fps``; creates missing folders."""
    import imageio.v2 as imageio

    frames = [np.asarray(f, dtype=np.uint8) for f in frames]
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)   # duration: milliseconds per frame
    return path
