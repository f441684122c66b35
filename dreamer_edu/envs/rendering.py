"""Drawing the hockey table with pygame (headless for ``rgb_array``) and writing games to GIF."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import hockey as h

BACKGROUND = (255, 255, 255)
WALL = (20, 20, 20)
LINE = (200, 200, 200)
GOAL_1, GOAL_2 = (235, 98, 53), (93, 158, 199)       # player one red, player two blue
PUCK = (0, 0, 0)


def _px(x: float, y: float) -> tuple[int, int]:
    """World metres -> screen pixels (y grows downwards on screen)."""
    return int(round(x * h.SCALE)), int(round(h.VIEWPORT_H - y * h.SCALE))


def _body_polygon(body) -> list[tuple[int, int]]:
    shape = body.fixtures[0].shape
    return [_px(*body.transform * v) for v in shape.vertices]


def draw_table(env, surface) -> np.ndarray:
    """Draw the current state onto ``surface`` and return it as a (480, 600, 3) uint8 array."""
    import pygame

    surface.fill(BACKGROUND)
    cx, cy = _px(h.CENTER_X, h.CENTER_Y)
    pygame.draw.line(surface, LINE, (cx, 0), (cx, h.VIEWPORT_H), 3)
    pygame.draw.circle(surface, LINE, (cx, cy), 100, 3)
    colours = {"wall": WALL, "goal_player_1": GOAL_1, "goal_player_2": GOAL_2}
    for body in env.world.bodies:
        if body.userData in colours:
            pygame.draw.polygon(surface, colours[body.userData], _body_polygon(body))
    pygame.draw.polygon(surface, GOAL_1, _body_polygon(env.player1))
    pygame.draw.polygon(surface, GOAL_2, _body_polygon(env.player2))
    for player, colour in ((env.player1, GOAL_1), (env.player2, GOAL_2)):  # heading marker
        x, y = player.position
        tip = (x + 0.5 * math.cos(player.angle), y + 0.5 * math.sin(player.angle))
        pygame.draw.line(surface, colour, _px(x, y), _px(*tip), 2)
    pygame.draw.circle(surface, PUCK, _px(*env.puck.position), int(h.PUCK_RADIUS * h.SCALE))
    return np.ascontiguousarray(np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)))


def save_gif(frames, path, fps: int = 25) -> Path:
    """Write frames (each (H, W, 3) uint8) to an animated GIF; creates the parent folder."""
    import imageio.v2 as imageio

    frames = list(frames)
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, [np.asarray(f, np.uint8) for f in frames], duration=1000 / fps, loop=0)
    return path


def record_episode(env, policy=None, seed: int | None = None, max_steps: int | None = None):
    """Play one game on an ``rgb_array`` env with ``policy(obs) -> action`` (random if None).

    Returns (frames, final info).
    """
    obs, info = env.reset(seed=seed)
    frames = [env.render()]
    done, steps = False, 0
    while not done and (max_steps is None or steps < max_steps):
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, _, terminated, truncated, info = env.step(action)
        frames.append(env.render())
        done = terminated or truncated
        steps += 1
    return frames, info
