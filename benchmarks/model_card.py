"""Ship a trained agent: copy its checkpoint to ``checkpoints/<name>/`` and write the model card beside it.

The card holds what a user needs to trust (or distrust) the agent: the configuration (the fields that differ
from the configuration it started from), env steps, updates and training hours from the checkpoint's own
counters, the command that reproduces it, and win/draw/loss against the weak and the strong BasicOpponent over
``--games`` greedy games each, with 95% Wilson intervals, played here and now.  ``evaluate`` and ``play`` then
take the agent by its name (``--checkpoint <name>``).

Usage: ``python benchmarks/model_card.py RUN_DIR --name NAME --command "python -m dreamer_edu train ..."
[--games 1000] [--note TEXT] [--threads 1]``
"""
from __future__ import annotations

import argparse
import datetime
import platform
import re
import shutil
import time
from pathlib import Path

import torch

from dreamer_edu.agent import set_threads
from dreamer_edu.checkpoint import CHECKPOINT_NAME, SHIPPED_DIR, find_checkpoint, read_checkpoint
from dreamer_edu.config import Config
from dreamer_edu.envs import make_env
from dreamer_edu.evaluate import load_agent, play_games, record_game, wilson_interval
from dreamer_edu.games import agent_actions, play_game

CARD_NAME = "MODEL_CARD.md"
MAX_MB = 20.0                      # what the repository accepts for one shipped checkpoint
CARD_SEED = 2_000_000              # card games use seeds CARD_SEED + i: neither a training game nor an evaluation during training (EVAL_SEED) used them


def changed_fields(config: Config) -> tuple[dict, bool]:
    """The fields that differ from the configuration the run started from (``Config.quick()`` or ``Config()``),
    and whether that was ``Config.quick()``."""
    quick = Config.quick()
    base = quick if config.hidden_size == quick.hidden_size else Config()
    return {k: v for k, v in config.to_dict().items() if v != getattr(base, k)}, base is quick


def record_a_win(agent, path: Path, opponent: str = "strong", tries: int = 200) -> int:
    """Find a game the agent wins against ``opponent`` (greedy; seeds CARD_SEED onwards) and record it as a GIF.
    Each try seeds torch with the game's seed, so the recording replays the very game that was found."""
    env = make_env(opponent=opponent)
    for seed in range(CARD_SEED, CARD_SEED + tries):
        torch.manual_seed(seed)
        if play_game(env, seed, agent_actions(agent, explore=False)).winner == 1:
            torch.manual_seed(seed)
            info = record_game(agent, path, opponent=opponent, seed=seed, fps=25)
            if info["winner"] != 1:
                raise RuntimeError(f"seed {seed}: the recorded game did not replay the win that was found")
            return seed
    raise RuntimeError(f"no win against {opponent} in {tries} games")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="the training run (or its checkpoint.pt)")
    parser.add_argument("--name", required=True, help="short name: checkpoints/<name>/")
    parser.add_argument("--command", required=True, help="the command (or commands) that trained it")
    parser.add_argument("--games", type=int, default=1000, help="greedy games against each bot")
    parser.add_argument("--note", default="", help="a paragraph for the card: how it was trained, what is weak")
    parser.add_argument("--gif", default=None, help="also record a game it wins against the strong bot here")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", args.name):
        parser.error(f"--name {args.name!r}: letters, digits, '.', '_' and '-' only (it names checkpoints/<name>/)")
    if args.games < 1:
        parser.error(f"--games must be >= 1, got {args.games}")
    set_threads(args.threads)

    source = find_checkpoint(args.run_dir)
    size_mb = source.stat().st_size / 2**20
    if size_mb > MAX_MB:
        raise SystemExit(f"{source} is {size_mb:.1f} MB, more than the {MAX_MB:g} MB a shipped agent may have")
    data = read_checkpoint(source)
    counters = data["counters"]
    agent, config, _ = load_agent(source)
    rows = []
    for opponent in ("weak", "strong"):
        start = time.perf_counter()
        outcome = play_games(agent, args.games, opponent=opponent, mode="NORMAL", seed=CARD_SEED,
                             parallel=min(50, args.games))
        print(f"vs {opponent}: {outcome.summary()} ({time.perf_counter() - start:.0f} s)", flush=True)
        rows.append((opponent, outcome))

    target = SHIPPED_DIR / args.name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target / CHECKPOINT_NAME)
    changes, from_quick = changed_fields(config)
    lines = [f"# {args.name}", "",
             f"A DreamerV3 hockey agent trained with dreamer_edu: {agent.num_parameters() / 1e6:.2f}M parameters, "
             f"{'Config.quick()' if from_quick else 'Config()'} with the changes below.", "",
             "## Results", "",
             f"{args.games:,} greedy games (the actor's mode) against each BasicOpponent in the full game (NORMAL), "
             f"seeds {CARD_SEED:,} onwards, 95% Wilson intervals over the games; measured "
             f"{datetime.date.today().isoformat()} with `python benchmarks/model_card.py`:", "",
             "| opponent | win | draw | loss |", "|---|---|---|---|"]
    for opponent, o in rows:
        cells = []
        for count in (o.wins, o.draws, o.losses):
            low, high = wilson_interval(count, o.games)
            cells.append(f"{count / o.games:.1%} [{low:.1%}, {high:.1%}]")
        lines.append(f"| {opponent} | " + " | ".join(cells) + " |")
    hours = counters["wall_seconds"] / 3600
    lines += ["", "## Training", "",
              f"- env steps: {counters['env_steps']:,} ({counters['episodes']:,} games)",
              f"- updates: {int(data['agent']['updates']):,}",
              f"- wall-clock training time: {hours:.2f} h (the run's own clock, resumes included)",
              f"- trained against: {config.opponent}, mode {config.curriculum or config.mode}, seed {config.seed}",
              f"- machine it was trained and measured on: {platform.machine()} CPU, torch {torch.__version__}, "
              f"{config.threads} torch thread(s)",
              "", "Command:", "", "```", args.command, "```", "",
              "Config fields that differ from the starting configuration:", "", "```"]
    lines += [f"{k} = {v!r}" for k, v in sorted(changes.items())] + ["```", ""]
    if args.note:
        lines += ["## Notes", "", args.note, ""]
    lines += ["## Use", "", "```",
              f"python -m dreamer_edu evaluate --checkpoint {args.name} --opponent strong --games 200",
              f"python -m dreamer_edu play --checkpoint {args.name} --opponent strong --gif game.gif", "```", ""]
    if args.gif:
        seed = record_a_win(agent, Path(args.gif))
        lines += [f"`{args.gif}` shows a game it wins against the strong bot (game seed {seed:,}: the first win among "
                  f"the games from seed {CARD_SEED:,} on).", ""]
    (target / CARD_NAME).write_text("\n".join(lines))
    print(f"wrote {target / CHECKPOINT_NAME} ({size_mb:.1f} MB) and {target / CARD_NAME}")


if __name__ == "__main__":
    main()
