"""The hockey game as a student first meets it: tables, a rink diagram, frames, outcomes and rewards.

The game is the setting of the whole guide (ch. 1-2: what the agent sees and does; ch. 12: playing and
evaluating games against the BasicOpponent).  Notebook ``00_hockey_env`` calls these functions; every
number they report is measured on games played by the package's own ``HockeyEnv``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..envs import hockey as h
from ..envs.recording import PLAYER_ONE, PLAYER_TWO
from ..evaluate import wilson_interval
from ..experiments import _player

# (index, name, meaning, units) of the 18 observation entries, player one's view (spec section 3).
OBSERVATION_ENTRIES = [
    (0, "p1_x", "player one x, relative to the centre", "m"),
    (1, "p1_y", "player one y, relative to the centre", "m"),
    (2, "p1_angle", "player one racket angle", "rad"),
    (3, "p1_vx", "player one velocity along x", "m/s"),
    (4, "p1_vy", "player one velocity along y", "m/s"),
    (5, "p1_omega", "player one angular velocity", "rad/s"),
    (6, "p2_x", "player two x, relative to the centre", "m"),
    (7, "p2_y", "player two y, relative to the centre", "m"),
    (8, "p2_angle", "player two racket angle", "rad"),
    (9, "p2_vx", "player two velocity along x", "m/s"),
    (10, "p2_vy", "player two velocity along y", "m/s"),
    (11, "p2_omega", "player two angular velocity", "rad/s"),
    (12, "puck_x", "puck x, relative to the centre", "m"),
    (13, "puck_y", "puck y, relative to the centre", "m"),
    (14, "puck_vx", "puck velocity along x", "m/s"),
    (15, "puck_vy", "puck velocity along y", "m/s"),
    (16, "p1_timer", "player one keep-puck timer (15 at the catch, 0 = not holding)", "steps"),
    (17, "p2_timer", "player two keep-puck timer", "steps"),
]
# (index, name, meaning, units) of player one's 4 action numbers (spec section 4).
ACTION_ENTRIES = [
    (0, "force_x", "push the racket along x (player two's x is mirrored)", f"x {h.FORCE_MULTIPLIER:.0f} N"),
    (1, "force_y", "push the racket along y", f"x {h.FORCE_MULTIPLIER:.0f} N"),
    (2, "torque", "turn the racket", f"x {h.TORQUE_MULTIPLIER:.0f} N m"),
    (3, "shoot", "release a held puck", "on when > 0.5"),
]


def _check_episodes(episodes) -> None:
    """A clear error for an empty list of episodes (every summary of ch. 1-2, 11, 12 needs data)."""
    if not episodes:
        raise ValueError("need at least one episode (a list of dicts from collect_episodes)")


def _ranges(values: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column percentiles of (N, D) values -> two (D,) arrays (for the tables of guide ch. 1-2)."""
    return np.percentile(values, low, axis=0), np.percentile(values, high, axis=0)


def observation_table(episodes, low: float = 1.0, high: float = 99.0) -> pd.DataFrame:
    """The 18 observation entries (guide ch. 1-2) with the range they take in ``episodes``.

    ``episodes``: dicts with ``obs`` (T+1, 18) as from ``experiments.collect_episodes``.  The columns
    ``low``/``high`` are the ``low``-th and ``high``-th percentiles over all steps; ``min``/``max`` the extremes.
    """
    _check_episodes(episodes)
    obs = np.concatenate([ep["obs"] for ep in episodes]).astype(np.float64)   # (N, 18)
    if obs.ndim != 2 or obs.shape[1] != len(OBSERVATION_ENTRIES):
        raise ValueError(f"observations must have 18 entries, got shape {obs.shape}")
    lo, hi = _ranges(obs, low, high)
    table = pd.DataFrame(OBSERVATION_ENTRIES, columns=["index", "name", "meaning", "units"]).set_index("index")
    table["low"], table["high"] = lo.round(2), hi.round(2)
    table["min"], table["max"] = obs.min(0).round(2), obs.max(0).round(2)
    return table


def action_table(episodes, low: float = 1.0, high: float = 99.0) -> pd.DataFrame:
    """Player one's 4 action numbers (guide ch. 1-2, 6) with the range player one used in ``episodes``.

    The first action of each episode is the zero action stored with the reset (no action was taken) and is skipped.
    """
    _check_episodes(episodes)
    actions = np.concatenate([ep["action"][1:] for ep in episodes]).astype(np.float64)   # (N, 4)
    if actions.ndim != 2 or actions.shape[1] != len(ACTION_ENTRIES):
        raise ValueError(f"actions must have 4 entries, got shape {actions.shape}")
    lo, hi = _ranges(actions, low, high)
    table = pd.DataFrame(ACTION_ENTRIES, columns=["index", "name", "meaning", "units"]).set_index("index")
    table["low"], table["high"] = lo.round(2), hi.round(2)
    return table


def puck_entries() -> list[int]:
    """Observation indices that describe the puck (guide ch. 1-2), read off the env's mirror map: the only
    entries that the half turn to player two's view keeps in place and negates (timers swap, player blocks
    swap)."""
    return [i for i in range(len(h.MIRROR_INDEX)) if h.MIRROR_INDEX[i] == i and h.MIRROR_SIGN[i] < 0]


# ----------------------------------------------------------------------------------------- rewards
def goal_reward() -> float:
    """The reward of the step in which player one scores, shaping left out (guide ch. 11, 15): asked from
    ``HockeyEnv.get_reward``."""
    env = h.HockeyEnv()
    env.done = True
    return env.get_reward({"winner": 1, "reward_closeness_to_puck": 0.0})


def closeness_factor(mode: str = "NORMAL") -> float:
    """Reward per metre of racket-puck distance and step while the puck waits in player one's half (< 0;
    guide ch. 15: the dense part of hockey's reward)."""
    return -30.0 / (h.MAX_DIST * h.MAX_TIMESTEPS[h.parse_mode(mode).name] / 2)


def max_game_steps(mode: str = "NORMAL") -> int:
    """Steps of a game that nobody wins (guide ch. 12, 15: "250-step episodes"): the clock is checked after
    the step counter reaches the limit, so one step more."""
    return h.MAX_TIMESTEPS[h.parse_mode(mode).name] + 1


def reward_parts(episode) -> tuple[np.ndarray, np.ndarray]:
    """Split one episode's rewards (T+1,) into the goal part and the shaping part, each (T,) (guide ch. 11).

    The goal part is +-``goal_reward()`` in the last step of a game that ended with a goal, 0 elsewhere;
    the shaping part is the rest (the closeness penalty, never positive).
    """
    rewards = np.asarray(episode["reward"][1:], np.float64)          # (T,): the first entry is the reset's 0
    if rewards.size == 0:
        raise ValueError("episode has no steps")
    goal = np.zeros_like(rewards)
    if bool(episode["is_terminal"][-1]):
        goal[-1] = goal_reward() * episode["winner"]
    return goal, rewards - goal


def reward_statistics(episodes) -> dict:
    """How sparse hockey's reward is (guide ch. 11): per-step and per-game numbers over ``episodes``.

    Returns ``steps`` (all steps), ``goal_step_fraction`` (steps with a nonzero goal reward),
    ``shaping_step_fraction`` (steps with a nonzero closeness penalty), ``lengths`` (G,), ``returns`` (G,),
    ``goal_returns`` (G,), ``shaping_returns`` (G,), ``min_shaping`` (the most negative per-step shaping).
    """
    _check_episodes(episodes)
    parts = [reward_parts(ep) for ep in episodes]
    goal = np.concatenate([g for g, _ in parts])                     # (N,)
    shaping = np.concatenate([s for _, s in parts])                  # (N,)
    return {
        "steps": int(goal.size),
        "goal_step_fraction": float(np.mean(goal != 0)),
        "shaping_step_fraction": float(np.mean(np.abs(shaping) > 1e-9)),
        "lengths": np.array([len(g) for g, _ in parts]),
        "returns": np.array([g.sum() + s.sum() for g, s in parts]),
        "goal_returns": np.array([g.sum() for g, _ in parts]),
        "shaping_returns": np.array([s.sum() for _, s in parts]),
        "min_shaping": float(shaping.min()),
        "max_shaping": float(shaping.max()),
    }


def catch_to_goal_steps(episodes) -> np.ndarray:
    """For each game player one won after catching the puck: steps from its last catch to the goal (G,).

    A catch is a step whose observation shows player one's keep-puck timer at its start value (15).  The catch
    (and the aiming while holding) is what earns the goal, so this is how far back credit has to travel
    (guide ch. 5, 7 and 11: the imagination horizon is 15 steps).
    """
    _check_episodes(episodes)
    gaps = []
    for ep in episodes:
        if ep["winner"] != 1:
            continue
        catches = np.nonzero(ep["obs"][:, 16] == h.MAX_TIME_KEEP_PUCK)[0]     # (K,) steps with a fresh catch
        if len(catches):
            gaps.append(len(ep["obs"]) - 1 - catches[-1])
    return np.array(gaps, dtype=int)


# ----------------------------------------------------------------------------------------- outcomes
def outcome_counts(episodes) -> tuple[int, int, int]:
    """(wins, draws, losses) of player one over ``episodes`` (each with ``winner`` in {1, 0, -1}; guide ch. 12)."""
    _check_episodes(episodes)
    winners = [int(ep["winner"]) for ep in episodes]
    if any(w not in (-1, 0, 1) for w in winners):
        raise ValueError("winner must be 1, 0 or -1")
    return winners.count(1), winners.count(0), winners.count(-1)


def outcome_table(matchups: dict) -> pd.DataFrame:
    """Win/draw/loss rates of player one with 95% Wilson intervals (guide ch. 12), one row per matchup.

    ``matchups``: ``{"strong vs weak": episodes, ...}``.  Columns: games, win, win_low, win_high, and the same
    for draw and loss, plus mean_length (steps) and mean_return.
    """
    if not matchups:
        raise ValueError("need at least one matchup")
    rows = []
    for label, episodes in matchups.items():
        counts = outcome_counts(episodes)
        games = sum(counts)
        row = {"matchup": label, "games": games}
        for outcome, count in zip(("win", "draw", "loss"), counts):
            row[outcome] = count / games
            row[f"{outcome}_low"], row[f"{outcome}_high"] = wilson_interval(count, games)
        row["mean_length"] = float(np.mean([len(ep["reward"]) - 1 for ep in episodes]))
        row["mean_return"] = float(np.mean([ep["reward"].sum() for ep in episodes]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("matchup")


def outcome_summary(table: pd.DataFrame) -> pd.DataFrame:
    """``outcome_table`` for reading (guide ch. 12): each rate as "23% [12%, 41%]" (rate and 95% Wilson interval)."""
    out = pd.DataFrame(index=table.index)
    out["games"] = table["games"]
    for outcome in ("win", "draw", "loss"):
        out[outcome] = [f"{r:.0%} [{lo:.0%}, {hi:.0%}]" for r, lo, hi in
                        zip(table[outcome], table[f"{outcome}_low"], table[f"{outcome}_high"])]
    out["mean length (steps)"] = table["mean_length"].round(1)
    out["mean return"] = table["mean_return"].round(2)
    return out


def plot_outcomes(table: pd.DataFrame, path=None):
    """Grouped bars (guide ch. 12): win/draw/loss rate per matchup with the Wilson intervals as error bars."""
    import matplotlib.pyplot as plt

    from .plots import finish

    fig, ax = plt.subplots(figsize=(7.5, 4))
    x = np.arange(len(table))
    width = 0.26
    colours = {"win": "tab:green", "draw": "tab:gray", "loss": "tab:red"}
    plural = {"win": "wins", "draw": "draws", "loss": "losses"}
    for k, outcome in enumerate(("win", "draw", "loss")):
        rate = 100 * table[outcome].to_numpy()
        err = 100 * np.stack([table[outcome] - table[f"{outcome}_low"], table[f"{outcome}_high"] - table[outcome]])
        ax.bar(x + (k - 1) * width, rate, width, yerr=err, capsize=3, color=colours[outcome],
               label=f"player one {plural[outcome]}")
    ax.set_xticks(x, [f"{m}\n({g} games)" for m, g in zip(table.index, table["games"])])
    ax.set_ylabel("share of games (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Who wins? Player one (left) listed first; bars: 95% Wilson intervals")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return finish(fig, path)


def plot_rewards(episode, stats: dict, path=None):
    """Guide ch. 10-11 (sparse rewards).  Left: one game's reward per step, goal part and shaping part.
    Middle: game lengths.  Right: returns.

    ``episode``: one decided game (``collect_episodes`` dict); ``stats``: ``{label: reward_statistics(...)}``.
    """
    import matplotlib.pyplot as plt

    from .plots import finish

    goal, shaping = reward_parts(episode)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    steps = np.arange(1, len(goal) + 1)
    axes[0].plot(steps, shaping, color="tab:orange", label="closeness penalty")
    axes[0].stem(steps[goal != 0], goal[goal != 0], linefmt="tab:blue", markerfmt="o", basefmt=" ",
                 label="goal reward")
    low = int(np.argmin(shaping))
    axes[0].annotate(f"closeness penalty (largest here: {-shaping[low]:.2f})", (steps[low], shaping[low]),
                     xytext=(0.05, 0.35), textcoords="axes fraction", fontsize=8,
                     arrowprops={"arrowstyle": "->", "color": "0.4"})
    axes[0].set_xlabel("step of the game")
    axes[0].set_ylabel("reward")
    axes[0].set_title(f"One game (winner: player {'one' if goal[-1] > 0 else 'two'}): reward per step")
    axes[0].legend(fontsize=8)
    limit = max_game_steps()
    bins = np.linspace(0, limit + 1, 27)
    for label, s in stats.items():
        axes[1].hist(s["lengths"], bins=bins, histtype="step", linewidth=1.5, label=label)
        axes[2].hist(s["returns"], bins=40, histtype="step", linewidth=1.5, label=label)
    axes[1].set_xlabel("game length (steps)")
    axes[1].set_ylabel("games")
    axes[1].set_title(f"Game lengths (no goal: {limit} steps)")
    axes[2].set_xlabel("return of player one (sum of rewards)")
    axes[2].set_ylabel("games")
    axes[2].set_title("Returns")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path)


# ----------------------------------------------------------------------------------------- pictures
def play_to(env, steps: int, player: str = "weak", seed: int = 0) -> np.ndarray:
    """Reset ``env`` (a ``make_env`` env) with ``seed`` and let ``player`` play ``steps`` steps; returns the
    observation (18,) then (guide ch. 1-2: a state to look at)."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    act = _player(player, np.random.default_rng(seed))
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(act(obs))
        if terminated or truncated:
            raise ValueError(f"the game ended before step {steps}; choose fewer steps or another seed")
    return obs


def _outline(body) -> np.ndarray:
    """A body's first polygon fixture in observation coordinates (metres from the centre), (K, 2) (ch. 1-2)."""
    corners = [body.transform * v for v in body.fixtures[0].shape.vertices]
    return np.array(corners) - (h.CENTER_X, h.CENTER_Y)


def plot_rink(game, obs: np.ndarray, path=None, arrow_scale: float = 0.1, start: np.ndarray | None = None):
    """The table seen from above in observation coordinates, labelled with the observation entries (ch. 1-2).

    ``game``: a built-in ``HockeyEnv`` after ``reset`` (``make_env(...).game``); ``obs``: its current
    observation (18,).  Arrows show velocities (length = ``arrow_scale`` s of motion).  ``start``: the
    observation at the game's reset (18,), drawn as crosses where the rackets and the puck began.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Polygon

    from .plots import finish

    obs = np.asarray(obs, np.float64)
    if obs.shape != (18,):
        raise ValueError(f"obs must have shape (18,), got {obs.shape}")
    colour_one, colour_two = (tuple(c / 255 for c in rgb) for rgb in (PLAYER_ONE, PLAYER_TWO))
    fig, ax = plt.subplots(figsize=(10, 7.2))
    for wall in game.walls:
        ax.add_patch(Polygon(_outline(wall), color="0.25"))
    for goal, colour, name in ((game.goal_player_1, colour_one, "player one's goal"),
                               (game.goal_player_2, colour_two, "player two's goal")):
        outline = _outline(goal)
        ax.add_patch(Polygon(outline, color=colour, alpha=0.8))
        gx = outline[:, 0].mean()
        ax.annotate(name, (gx, -0.6), xytext=(0.75 * gx, -2.4), ha="center", fontsize=9,
                    arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.axvline(0.0, color="0.8", linewidth=1.5, zorder=0)
    ax.add_patch(Circle((0, 0), 100 / h.SCALE, fill=False, color="0.8", linewidth=1.5, zorder=0))
    ax.add_patch(Polygon(_outline(game.player1), color=colour_one))
    ax.add_patch(Polygon(_outline(game.player2), color=colour_two))
    ax.add_patch(Circle((obs[12], obs[13]), h.PUCK_RADIUS, color="black"))
    labels = [(0, 3, colour_one, "player one: position obs[0:2], angle obs[2]\nvelocity obs[3:5] (arrow), "
               "spin obs[5]", (-2.5, 2.0)),
              (6, 9, colour_two, "player two: position obs[6:8], angle obs[8]\nvelocity obs[9:11] (arrow), "
               "spin obs[11]", (2.5, 2.0)),
              (12, 14, "black", "puck: position obs[12:14]\nvelocity obs[14:16] (arrow)", (-1.5, -1.9))]
    for pos, vel, colour, text, place in labels:
        x, y = obs[pos], obs[pos + 1]
        vx, vy = arrow_scale * obs[vel], arrow_scale * obs[vel + 1]
        if abs(vx) + abs(vy) > 1e-3:
            ax.arrow(x, y, vx, vy, width=0.035, color=colour, length_includes_head=True, zorder=5)
        ax.annotate(text, (x, y), xytext=place, ha="center", fontsize=9, color="0.1",
                    bbox={"boxstyle": "round", "fc": "white", "ec": colour},
                    arrowprops={"arrowstyle": "-", "color": "0.5"})
    if start is not None:
        start = np.asarray(start, np.float64)
        if start.shape != (18,):
            raise ValueError(f"start must have shape (18,), got {start.shape}")
        for pos, colour in ((0, colour_one), (6, colour_two), (12, "black")):
            ax.plot(start[pos], start[pos + 1], marker="x", markersize=9, mew=2, color=colour, linestyle="none")
        ax.annotate("x: where they stood at the reset", (start[6], start[7]), xytext=(2.0, 0.8), fontsize=8,
                    color="0.3", arrowprops={"arrowstyle": "-", "color": "0.6"})
    ax.annotate("centre (0, 0)", (0, 0), xytext=(0.3, 1.1), fontsize=8, color="0.4",
                arrowprops={"arrowstyle": "-", "color": "0.6"})
    ax.text(0, -3.0, f"keep-puck timers: obs[16] = {obs[16]:.0f}, obs[17] = {obs[17]:.0f} (not drawn)",
            ha="center", fontsize=9, color="0.2")
    ax.set_xlim(-h.CENTER_X, h.CENTER_X)
    ax.set_ylim(-h.CENTER_Y, h.CENTER_Y)
    ax.set_aspect("equal")
    ax.set_xlabel("x relative to the centre (m)")
    ax.set_ylabel("y relative to the centre (m)")
    ax.set_title("The table in player one's observation coordinates (arrows: velocity x "
                 f"{arrow_scale} s)")
    ax.grid(alpha=0.2)
    fig.tight_layout()
    return finish(fig, path)


def record_match(player: str = "strong", opponent: str = "weak", seed: int = 0, winner: int | None = 1,
                 tries: int = 50):
    """Guide ch. 12 (recording games).  Play and render one game (frames (480, 600, 3) uint8 each), trying
    seeds ``seed, seed+1, ...`` until player one's result is ``winner`` (None: the first game).  Returns
    ``(frames, info, seed_used)``."""
    from ..envs import make_env
    from ..envs.recording import record_episode

    env = make_env(opponent=opponent, render_mode="rgb_array")
    try:
        for s in range(seed, seed + tries):
            act = _player(player, np.random.default_rng(s))
            frames, info = record_episode(env, policy=act, seed=s)
            if winner is None or info["winner"] == winner:
                return frames, info, s
    finally:
        env.close()
    raise ValueError(f"no game with winner {winner} in {tries} tries from seed {seed}")


def frame_indices(count: int, frames: int) -> list[int]:
    """``frames`` evenly spaced indices from 0 to ``count - 1`` (both ends included), for a frame strip (ch. 12)."""
    if frames < 2 or count < frames:
        raise ValueError(f"need 2 <= frames <= count, got frames={frames}, count={count}")
    return [int(round(i)) for i in np.linspace(0, count - 1, frames)]


def plot_frame_strip(frames, indices, path=None):
    """Rendered frames side by side, each titled with its step number (frame 0 is the reset; guide ch. 12)."""
    import matplotlib.pyplot as plt

    from .plots import finish

    fig, axes = plt.subplots(1, len(indices), figsize=(3.1 * len(indices), 2.9))
    for ax, i in zip(np.atleast_1d(axes), indices):
        ax.imshow(frames[i])
        ax.set_title("reset" if i == 0 else f"step {i}", fontsize=10)
        ax.axis("off")
    fig.suptitle("A rendered game: player one (red, left) against player two (blue, right)", fontsize=11)
    fig.tight_layout()
    return finish(fig, path)


def save_game_gif(frames, path, every: int = 2, shrink: int = 2, fps: int = 25):
    """Write every ``every``-th frame, downsampled by ``shrink`` in each direction, as a GIF (small files;
    guide ch. 12).  At the defaults (every 2nd frame at 25 fps) the GIF plays at the game's real speed."""
    from ..envs.recording import save_gif

    if every < 1 or shrink < 1:
        raise ValueError("every and shrink must be >= 1")
    kept = [np.asarray(f)[::shrink, ::shrink] for f in list(frames)[::every]]
    return save_gif(kept, path, fps=fps)
