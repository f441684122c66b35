"""Sweeps: many training runs (variants x seeds) on Ray Tune, and their results (guide ch. 12-15).

A **sweep file** (YAML, see ``sweeps/``) names a base configuration (``quick: true`` for ``Config.quick()``,
otherwise the guide's ``Config()``), fixed ``config`` overrides for every run, the ``variants`` (each a name and
its own overrides), the ``seeds``, a ``budget`` per run (``env_steps`` and/or wall-clock ``minutes``, whichever
comes first) and the ``evaluation`` (``opponents``, ``games`` per opponent, ``every`` so many env steps).

A **trial** is one variant with one seed, and it is an ordinary training run: ``trainer.Trainer`` in its own run
directory ``<sweep-dir>/<variant>-seed<seed>/``, with the ``checkpoint.pt``, ``replay.npz``, ``config.json``,
``eval.csv`` and TensorBoard ``tb/`` that ``python -m dreamer_edu train`` writes (so ``evaluate``, ``play`` and
``train --resume`` work on it).  At each evaluation the trainer plays its own opponent; the trial then plays the
sweep's other opponents with the same games (same seeds, greedy actions), appends one row per opponent to
``sweep_eval.csv`` next to ``eval.csv``, saves the checkpoint and reports the win rates to Tune
(``win_rate/<opponent>``).  Ray Tune only schedules trials (``--cpus-per-trial``, 1 by default, on this machine
or on every node of a Ray cluster); what a trial learns does not depend on Ray.

Where files go: ``<sweep-dir>/sweep.yaml`` (the sweep as it was started), one run directory per trial,
``<sweep-dir>/tune/`` (Tune's own record of the experiment) and, from ``sweep-results``, ``results.csv`` and
``learning_curves.png``.  On a cluster the sweep directory must be on a file system that every node sees.

Resuming: a killed sweep (Ctrl-C, a lost node, ``kill -9`` of this process) continues with ``--resume``.  Tune
restores its experiment and runs again every trial that had not finished (``Tuner.restore`` with
``resume_errored=True``), and a trial that finds a checkpoint in its run directory continues from it
(``Trainer(..., resume=True)``), losing at most what came after its last evaluation.  Rows that the killed run
wrote after that checkpoint are dropped from its CSVs, since the run plays them again.  A finished trial is never
run again, and one that had finished before Tune could record it returns at once.

Results: ``sweep-results`` reads every trial's ``sweep_eval.csv`` and gives, per variant and opponent, the final,
the best and the mean win rate, as the mean over seeds with a 95% t interval over seeds (the spread between runs,
not the uncertainty of one run's games), and a learning-curve figure with the same band.  It writes
``results.csv`` (that table) and ``curves.csv`` (every evaluation of every trial).  Given ``--csv`` in another
folder, it also copies ``sweep.yaml`` there: that folder is then the sweep's published results, which
``load_results`` (and ``sweep-results`` itself) read without the trials' run directories; the repository ships
its ablations that way, in ``sweeps/results/``.
"""
from __future__ import annotations

import csv
import json
import math
import re
import shutil
import sys
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

from .config import OPPONENTS, Config, ConfigWarning

INSTALL_HINT = "sweeps need Ray Tune and PyYAML, the 'sweep' extra: pip install -e .[sweep]"
SWEEP_FILE = "sweep.yaml"        # the sweep as started, inside its directory
TUNE_DIR = "tune"                # Tune's experiment, inside the sweep directory
EVAL_CSV = "sweep_eval.csv"      # every opponent's results of a trial, next to its eval.csv
FINISHED_FILE = "finished.json"  # written by a trial that spent its whole budget
CURVES_CSV = "curves.csv"        # every evaluation of every trial, written by sweep-results
#: The published results of the repository's own sweeps: ``sweeps/results/<name>/`` (sweep.yaml, curves.csv, ...)
PUBLISHED_DIR = Path(__file__).resolve().parent.parent / "sweeps" / "results"
EVAL_FIELDS = ["env_steps", "opponent", "games", "win_rate", "draw_rate", "loss_rate", "mean_return"]
SET_ELSEWHERE = {"seed": "seeds", "total_env_steps": "budget.env_steps", "eval_every_steps": "evaluation.every",
                 "eval_games": "evaluation.games"}
SECTIONS = {"quick": None, "config": None, "variants": None, "seeds": None,
            "budget": ("env_steps", "minutes"), "evaluation": ("opponents", "games", "every")}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")


#: ``total_env_steps`` of a trial whose budget is minutes alone: no step limit a run could reach first.
MINUTES_ONLY_ENV_STEPS = 10**9


class TrialStopped(RuntimeError):
    """A trial's training run was stopped by a signal before its budget was spent (it resumes later)."""


class SweepError(ValueError):
    """A sweep file or sweep directory that cannot be used; the message is one line naming the value."""


# --- the sweep file ----------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """A checked sweep file (``Sweep.from_dict``); ``trial_config`` gives the Config of one trial."""

    quick: bool
    config: dict                 # Config overrides for every trial
    variants: dict               # name -> Config overrides
    seeds: list
    env_steps: int | None        # budget per trial: env steps and/or wall-clock minutes
    minutes: float | None
    opponents: list
    games: int
    every: int

    def trials(self) -> list[tuple[str, int]]:
        return [(variant, seed) for seed in self.seeds for variant in self.variants]   # the order Tune runs them

    def trial_config(self, variant: str, seed: int) -> Config:
        base = Config.quick() if self.quick else Config()
        changes = {**self.config, **self.variants[variant], "seed": seed, "eval_every_steps": self.every,
                   "eval_games": self.games}
        if self.env_steps is not None:
            changes["total_env_steps"] = self.env_steps
        else:
            changes["total_env_steps"] = MINUTES_ONLY_ENV_STEPS   # only the minutes end the trial
        return base.replace(**changes)

    def to_dict(self) -> dict:
        """The sweep file's contents (what ``from_dict`` reads)."""
        return {"quick": self.quick, "config": self.config, "variants": self.variants, "seeds": self.seeds,
                "budget": {"env_steps": self.env_steps, "minutes": self.minutes},
                "evaluation": {"opponents": self.opponents, "games": self.games, "every": self.every}}

    @classmethod
    def from_dict(cls, data, where: str = "sweep") -> "Sweep":
        """Check a parsed sweep file; every problem is a ``SweepError`` naming the key and the value."""
        if not isinstance(data, dict):
            raise SweepError(f"{where}: expected a mapping of {', '.join(SECTIONS)}, got {data!r}")
        for key, value in data.items():
            if key not in SECTIONS:
                raise SweepError(f"{where}: unknown key {key!r} (expected {', '.join(SECTIONS)})")
            subkeys = SECTIONS[key]
            if subkeys and value is not None:
                if not isinstance(value, dict):
                    raise SweepError(f"{where}: {key} must be a mapping of {', '.join(subkeys)}, got {value!r}")
                for sub in value:
                    if sub not in subkeys:
                        raise SweepError(f"{where}: unknown key {key}.{sub} (expected {', '.join(subkeys)})")
        quick = data.get("quick", False)
        if not isinstance(quick, bool):
            raise SweepError(f"{where}: quick must be true or false, got {quick!r}")
        fixed = _overrides(data.get("config") or {}, f"{where}: config")
        variants = data.get("variants")
        if not isinstance(variants, dict) or not variants:
            raise SweepError(f"{where}: variants must be a non-empty mapping of name -> Config overrides, "
                             f"got {variants!r}")
        checked = {}
        for name, changes in variants.items():
            if not isinstance(name, str) or not NAME.match(name):
                raise SweepError(f"{where}: variant name {name!r} must be letters, digits and _ . + = - "
                                 "(it names a folder)")
            checked[name] = _overrides(changes or {}, f"{where}: variant {name}")
        seeds = data.get("seeds", [0])
        if (not isinstance(seeds, list) or not seeds
                or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
            raise SweepError(f"{where}: seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise SweepError(f"{where}: seeds must differ, got {seeds!r}")
        budget = data.get("budget") or {}
        env_steps = _positive(budget.get("env_steps"), f"{where}: budget.env_steps", whole=True)
        minutes = _positive(budget.get("minutes"), f"{where}: budget.minutes", whole=False)
        evaluation = data.get("evaluation") or {}
        fixed_config = (Config.quick() if quick else Config()).replace(**fixed)
        try:                                      # a mixture "weak:0.5,strong:0.5" is evaluated against each
            default_opponents = fixed_config.eval_opponents
        except ValueError as err:
            raise SweepError(f"{where}: config: {err}") from None
        opponents = evaluation.get("opponents", default_opponents)
        if isinstance(opponents, str):
            opponents = [opponents]
        if not isinstance(opponents, list) or not opponents:
            raise SweepError(f"{where}: evaluation.opponents must be a non-empty list, got {opponents!r}")
        for opponent in opponents:
            if opponent not in OPPONENTS:
                raise SweepError(f"{where}: evaluation.opponents: {opponent!r} is not one of {', '.join(OPPONENTS)}")
        games = _positive(evaluation.get("games", fixed_config.eval_games), f"{where}: evaluation.games", whole=True)
        every = _positive(evaluation.get("every", fixed_config.eval_every_steps), f"{where}: evaluation.every",
                          whole=True)
        sweep = cls(quick, fixed, checked, list(seeds), env_steps, minutes, list(dict.fromkeys(opponents)),
                    games, every)
        for name in checked:                      # every trial's Config must be valid (a warning is allowed)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConfigWarning)
                    sweep.trial_config(name, seeds[0]).validate()
            except ValueError as err:
                raise SweepError(f"{where}: variant {name}: {err}") from None
        return sweep

    def config_warnings(self) -> list[str]:
        """The guide's pitfall warnings (``ConfigWarning``) of each variant, one line each."""
        lines = []
        for name in self.variants:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConfigWarning)
                self.trial_config(name, self.seeds[0]).validate()
            lines += [f"variant {name}: {w.message}" for w in caught]
        return lines


def _overrides(changes, where: str) -> dict:
    """Config overrides from YAML: known fields, each of its field's type (an int is fine for a float, and so is
    a string such as ``1e-4``, which YAML does not read as a number)."""
    if not isinstance(changes, dict):
        raise SweepError(f"{where}: expected a mapping of Config fields, got {changes!r}")
    defaults = Config()
    known = {f.name for f in fields(Config)}
    changes = dict(changes)
    for key, value in changes.items():
        if key not in known:
            raise SweepError(f"{where}: unknown Config field {key!r}")
        if key in SET_ELSEWHERE:
            raise SweepError(f"{where}: {key} is set by the sweep's {SET_ELSEWHERE[key]}, not as an override")
        default = getattr(defaults, key)
        if isinstance(default, float) and isinstance(value, str):
            try:
                value = changes[key] = float(value)
            except ValueError:
                pass
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and (isinstance(value, int) or isinstance(default, float))
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise SweepError(f"{where}: {key} must be a {type(default).__name__} like {default!r}, got {value!r}")
    return changes


def _positive(value, where: str, whole: bool):
    if value is None:
        return None
    number_ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if isinstance(value, bool) or not number_ok or not value > 0 or value == math.inf:
        kind = "whole number" if whole else "number"
        raise SweepError(f"{where} must be a positive {kind}, got {value!r}")
    return value


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file."""
    return Sweep.from_dict(_read_yaml(path), str(path))


def _read_yaml(path: str | Path):
    """A sweep file's contents (a missing file or bad YAML is a one-line ``SweepError``)."""
    yaml = _import_yaml()
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"sweep file {str(path)!r} not found")
    try:
        return yaml.load(path.read_text(), Loader=_yaml_loader())
    except SweepError as err:
        raise SweepError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SweepError(f"{path}: not valid YAML{at} ({getattr(err, 'problem', None) or err})") from None


def _import_yaml():
    try:
        import yaml
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return yaml


def _yaml_loader():
    """PyYAML's safe loader, refusing a key given twice (two variants of one name would silently be one)."""
    yaml = _import_yaml()

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
            for key in keys:
                if keys.count(key) > 1:
                    raise SweepError(f"key {key!r} appears twice (line {node.start_mark.line + 1})")
            return super().construct_mapping(node, deep=deep)
    return UniqueKeyLoader


def run_dir_name(variant: str, seed: int) -> str:
    return f"{variant}-seed{seed}"


# --- one trial -----------------------------------------------------------------------------------------------
def run_trial(params: dict, spec: dict, sweep_dir: str) -> None:
    """Tune's trainable: train one variant with one seed in its run directory, reporting each evaluation."""
    import torch
    from ray import tune

    from .checkpoint import CHECKPOINT_NAME
    from .evaluate import play_games
    from .trainer import EVAL_SEED, Trainer

    sweep = Sweep.from_dict(spec)
    variant, seed = _variant_and_seed(params)
    run_dir = Path(sweep_dir) / run_dir_name(variant, seed)
    config = sweep.trial_config(variant, seed)

    def on_eval(trainer, row):
        c = trainer.config
        rows = []
        for opponent in sweep.opponents:
            if opponent in trainer.last_evals:    # the trainer has just played these games
                rows.append({key: trainer.last_evals[opponent][key] for key in EVAL_FIELDS})
                continue
            devices = [trainer.device.index or 0] if trainer.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):      # leave the training run's random stream alone
                outcome = play_games(trainer.agent, sweep.games, opponent=opponent, mode=c.mode, seed=EVAL_SEED,
                                     backend=c.backend, parallel=min(c.eval_parallel, sweep.games))
            rows.append({"env_steps": row["env_steps"], "opponent": opponent, "games": outcome.games,
                         "win_rate": outcome.win_rate, "draw_rate": outcome.draw_rate,
                         "loss_rate": outcome.loss_rate, "mean_return": outcome.mean_return})
            trainer.log(f"eval at {row['env_steps']} env steps vs {opponent}: {outcome.summary()}")
        _append_rows(run_dir / EVAL_CSV, rows)
        trainer.save_checkpoint()                 # a killed sweep resumes from here
        tune.report(_metrics(rows))

    if (run_dir / CHECKPOINT_NAME).exists():
        trainer = Trainer(config, run_dir, resume=True, progress=False, total_env_steps=config.total_env_steps,
                          on_eval=on_eval)
        for name in ("eval.csv", EVAL_CSV):       # what came after the checkpoint will be played again
            _keep_rows_up_to(run_dir / name, trainer.env_steps)
        print(f"trial {run_dir.name}: resuming {run_dir} from its checkpoint at env step {trainer.env_steps}",
              flush=True)
    else:
        for name in ("eval.csv", EVAL_CSV, "tb", FINISHED_FILE):  # left by an attempt killed before its first checkpoint
            path = run_dir / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        trainer = Trainer(config, run_dir, progress=False, on_eval=on_eval)
    minutes = sweep.minutes
    if minutes is not None:                       # the budget counts the minutes of earlier attempts too
        minutes -= trainer.wall_seconds_before / 60.0
    if trainer.env_steps >= trainer.config.total_env_steps or (minutes is not None and minutes <= 0):
        last = {}                                 # finished before Tune could record it: report, do not rerun
        for r in _read_rows(run_dir / EVAL_CSV):
            last[r["opponent"]] = r
        if not (run_dir / FINISHED_FILE).exists():   # (killed between its last save and this record)
            _mark_finished(run_dir, trainer)
        tune.report(_metrics(list(last.values())))
        return
    trainer.train(max_minutes=minutes)
    trainer.close()                               # (Tune may run the next trial in this same process)
    if trainer.stop_signal is not None:           # stopped, not finished: Tune must not count it as done
        raise TrialStopped(f"trial {run_dir.name} was stopped by {trainer.stop_signal} at env step "
                           f"{trainer.env_steps}; its checkpoint is kept and --resume continues it")
    _mark_finished(run_dir, trainer)


def _mark_finished(run_dir: Path, trainer) -> None:
    """The trial's own record that it spent its budget (what the sweep counts as finished)."""
    (run_dir / FINISHED_FILE).write_text(json.dumps({"env_steps": trainer.env_steps,
                                                     "updates": trainer.agent.updates,
                                                     "wall_seconds": round(trainer.wall_seconds_before, 1)}))


def _metrics(rows: list[dict]) -> dict:
    metrics = {"env_steps": int(rows[0]["env_steps"])} if rows else {}
    for r in rows:
        metrics[f"win_rate/{r['opponent']}"] = float(r["win_rate"])
    return metrics


def _append_rows(path: Path, rows: list[dict]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=EVAL_FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _keep_rows_up_to(path: Path, env_steps: int) -> None:
    if not path.exists():
        return
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        names, rows = reader.fieldnames, [r for r in reader if int(r["env_steps"]) <= env_steps]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)


# --- the sweep: Tune runs the trials -------------------------------------------------------------------------
def run_sweep(sweep: Sweep, sweep_dir: str | Path, resume: bool = False, address: str | None = None,
              num_cpus: int | None = None, cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0,
              max_concurrent: int | None = None, max_failures: int = 1) -> int:
    """Run (or, with ``resume``, continue) every trial of ``sweep`` on Ray Tune; print the results table.
    Returns 0 when every trial finished, 1 when some failed and 130 when the sweep was stopped early."""
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    sweep_dir = Path(sweep_dir).resolve()
    yaml = _import_yaml()
    if not resume:
        if (sweep_dir / SWEEP_FILE).exists():
            raise SweepError(f"{sweep_dir} already holds a sweep; pass --resume to continue it or choose "
                             "another --sweep-dir")
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / SWEEP_FILE).write_text(yaml.safe_dump(sweep.to_dict(), sort_keys=False))

    trainable = tune.with_resources(tune.with_parameters(run_trial, spec=sweep.to_dict(), sweep_dir=str(sweep_dir)),
                                    {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=address, num_cpus=num_cpus if address is None else None)
    try:
        experiment = sweep_dir / TUNE_DIR
        if resume and tune.Tuner.can_restore(str(experiment)):
            print(f"resuming the sweep in {sweep_dir}: finished trials are kept, the others continue from their "
                  "run directories' checkpoints", flush=True)
            tuner = tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True, resume_errored=True)
        else:
            # (a sweep killed before Tune saved its state starts its trials again; they resume from checkpoints)
            # one grid point per trial, in the order of sweep.trials(): every variant's first seed runs before
            # any second seed, so a sweep stopped early still compares all of its variants
            space = {"trial": tune.grid_search([{"variant": v, "seed": s} for v, s in sweep.trials()])}
            tuner = tune.Tuner(trainable, param_space=space,
                               tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent or None,
                                                           reuse_actors=True, trial_name_creator=_trial_name,
                                                           trial_dirname_creator=_trial_name),
                               run_config=tune.RunConfig(name=TUNE_DIR, storage_path=str(sweep_dir), verbose=1,
                                                         failure_config=tune.FailureConfig(max_failures=max_failures)))
        results = tuner.fit()
    finally:
        if started_ray:
            ray.shutdown()
    total = len(sweep.trials())
    finished = sum((sweep_dir / run_dir_name(v, s) / FINISHED_FILE).exists() for v, s in sweep.trials())
    failed = sum(1 for result in results if result.error is not None and "TrialStopped" not in repr(result.error))
    print(f"{finished} of {total} trials finished, {failed} failed "
          f"(Tune's record: {sweep_dir / TUNE_DIR})", flush=True)
    if any(_read_rows(sweep_dir / run_dir_name(v, s) / EVAL_CSV) for v, s in sweep.trials()):
        print_results(sweep_dir)
    if finished + failed < total:
        print("the sweep stopped early; continue it with: "
              f"python -m dreamer_edu sweep --resume --sweep-dir {sweep_dir}")
        return 130
    return 1 if failed else 0


def _variant_and_seed(params: dict) -> tuple[str, int]:
    """A trial's variant and seed from its Tune parameters."""
    params = params.get("trial", params)     # (sweeps saved by earlier versions have them at the top level)
    return params["variant"], params["seed"]


def _trial_name(trial) -> str:
    """Tune's name for a trial (and its folder under tune/): that of its run directory."""
    return run_dir_name(*_variant_and_seed(trial.config))


def load_published(name: str):
    """The published results of one of the repository's sweeps, ``sweeps/results/<name>/``: (sweep, df) as
    ``load_results`` gives them, e.g. ``load_published("ablation_drill")``."""
    folder = PUBLISHED_DIR / name
    if not (folder / CURVES_CSV).is_file():
        known = sorted(d.name for d in PUBLISHED_DIR.iterdir() if (d / CURVES_CSV).is_file()) \
            if PUBLISHED_DIR.is_dir() else []
        raise SweepError(f"no published sweep results named {name!r} in {PUBLISHED_DIR}; there are: "
                         f"{', '.join(known) or 'none'}")
    return load_results(folder)


def load_saved_sweep(sweep_dir: str | Path) -> Sweep:
    path = Path(sweep_dir) / SWEEP_FILE
    if not path.is_file():
        raise SweepError(f"{sweep_dir} is not a sweep directory (it has no {SWEEP_FILE})")
    return load_sweep(path)


# --- the command line ---------------------------------------------------------------------------------------
def sweep_command(args) -> int:
    """``python -m dreamer_edu sweep``: the sweep file, changed by the command's options, run on Tune."""
    if not _has_ray():
        raise ImportError(INSTALL_HINT)
    defining = [flag for flag, given in (("--grid", args.grid), ("--seeds", args.seeds),
                                         ("--env-steps", args.env_steps), ("--minutes", args.minutes),
                                         ("--quick", args.quick), ("--config-override", args.config_override),
                                         ("--opponents", args.opponents), ("--games", args.games),
                                         ("--every", args.every)) if given]
    name = Path(args.file).stem if args.file else "grid"
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else Path("runs") / "sweeps" / name
    if args.resume:
        if defining:
            raise SweepError(f"--resume continues the sweep in {sweep_dir} as it started; {', '.join(defining)} "
                             "cannot change it (start a new --sweep-dir instead)")
        sweep = load_saved_sweep(sweep_dir)
        if args.file and load_sweep(args.file).to_dict() != sweep.to_dict():
            raise SweepError(f"{args.file} has changed since the sweep in {sweep_dir} started; --resume keeps the "
                             f"sweep's own {sweep_dir / SWEEP_FILE} (start a new --sweep-dir for the new one)")
    else:
        if not args.file and not args.grid:
            raise SweepError("give a sweep file (see sweeps/) or the variants with --grid KEY=V1,V2 ...")
        data = _read_yaml(args.file) if args.file else {}
        if not isinstance(data, dict):
            raise SweepError(f"{args.file}: expected a mapping of {', '.join(SECTIONS)}, got {data!r}")
        yaml = _import_yaml()
        if args.quick:
            data["quick"] = True
        if args.config_override:
            data["config"] = {**(data.get("config") or {}), **_key_values(args.config_override, yaml)}
        if args.grid:
            data["variants"] = _grid_variants(args.grid, yaml)
        if args.seeds:
            data["seeds"] = args.seeds
        for section, key, value in (("budget", "env_steps", args.env_steps), ("budget", "minutes", args.minutes),
                                    ("evaluation", "opponents", args.opponents),
                                    ("evaluation", "games", args.games), ("evaluation", "every", args.every)):
            if value is not None:
                data[section] = {**(data.get(section) or {}), key: value}
        sweep = Sweep.from_dict(data, args.file or "sweep")
    for line in sweep.config_warnings():
        print(f"config warning: {line}", file=sys.stderr)
    print(f"sweep: {len(sweep.variants)} variants x {len(sweep.seeds)} seeds = {len(sweep.trials())} trials in "
          f"{sweep_dir}", flush=True)
    return run_sweep(sweep, sweep_dir, resume=args.resume, address=args.address, num_cpus=args.num_cpus,
                     cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
                     max_concurrent=args.max_concurrent, max_failures=args.max_failures)


def results_command(args) -> int:
    """``python -m dreamer_edu sweep-results``."""
    print_results(args.sweep_dir, csv_path=args.csv, figure=args.figure)
    return 0


def _has_ray() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("yaml") is not None
    except ValueError:                            # a module set to None in sys.modules (how tests hide Ray)
        return False


def _key_values(items, yaml) -> dict:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SweepError(f"{item!r} must look like key=value")
        out[key.strip().replace("-", "_")] = yaml.safe_load(raw)
    return out


def _grid_variants(items, yaml) -> dict:
    """``--grid replay_ratio=32,64 horizon=10,15``: every combination, named ``replay_ratio=32+horizon=10``."""
    variants = {"": {}}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            raise SweepError(f"--grid {item!r} must look like key=value1,value2")
        key = key.strip().replace("-", "_")
        variants = {f"{name}+{key}={v}".lstrip("+"): {**changes, key: yaml.safe_load(v)}
                    for name, changes in variants.items() for v in raw.split(",")}
    return variants


# --- results ---------------------------------------------------------------------------------------------
# two-sided 95% quantiles of Student's t for 1..10 degrees of freedom; above, a Cornish-Fisher expansion
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t with ``dof`` degrees of freedom (within 0.003 above 10)."""
    if dof <= len(T975):
        return T975[dof - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95% t interval of ``values`` (one per seed); the interval is empty (nan) for a single value."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def load_results(sweep_dir: str | Path):
    """Every evaluation of every trial as one table: variant, seed, env_steps, step, opponent, win_rate, ...

    ``step`` is the evaluation point a row belongs to, so that seeds line up: a trial evaluates at the end of
    the first game past each multiple of ``evaluation.every`` (its env steps rounded down give that multiple)
    and once more at the end of its budget (``budget.env_steps``; with a budget in minutes alone, the last
    evaluation takes the place of the one before it)."""
    import pandas as pd

    sweep = load_saved_sweep(sweep_dir)
    frames = []
    for variant, seed in sweep.trials():
        rows = _read_rows(Path(sweep_dir) / run_dir_name(variant, seed) / EVAL_CSV)
        if rows:
            frames.append(pd.DataFrame(rows).assign(variant=variant, seed=seed))
    published = Path(sweep_dir) / CURVES_CSV
    if not frames and published.is_file():           # published results: no run directories, their curves
        frames.append(pd.read_csv(published)[["variant", "seed"] + EVAL_FIELDS])
    if not frames:
        raise SweepError(f"{sweep_dir}: no trial has results yet (no {EVAL_CSV} in its run directories)")
    df = pd.concat(frames, ignore_index=True)
    for column in ("env_steps", "games"):
        df[column] = df[column].astype(int)
    for column in ("win_rate", "draw_rate", "loss_rate", "mean_return"):
        df[column] = df[column].astype(float)
    df["step"] = df["env_steps"] // sweep.every * sweep.every
    if sweep.env_steps is not None:
        df.loc[df["env_steps"] >= sweep.env_steps, "step"] = sweep.env_steps
    df = df.drop_duplicates(["variant", "seed", "opponent", "step"], keep="last")
    return sweep, df


def curve_points(df):
    """Every evaluation point of every trial with win, draw and loss rates and their 95% Wilson intervals over
    that point's games (the learning-curve CSV): how sure one point of one seed is, next to the seeds' spread."""
    from .evaluate import wilson_interval

    out = df.sort_values(["variant", "opponent", "seed", "env_steps"]).reset_index(drop=True)
    for outcome in ("win", "draw", "loss"):
        counts = (out[f"{outcome}_rate"] * out["games"]).round().astype(int)
        bounds = [wilson_interval(k, n) for k, n in zip(counts, out["games"])]
        out[f"{outcome}_low"] = [low for low, _ in bounds]
        out[f"{outcome}_high"] = [high for _, high in bounds]
    columns = ["variant", "seed", "opponent", "step", "env_steps", "games"]
    columns += [f"{o}{suffix}" for o in ("win", "draw", "loss") for suffix in ("_rate", "_low", "_high")]
    return out[columns + ["mean_return"]]


def summarize(sweep: Sweep, df):
    """Per variant and opponent: seeds with results, mean final env steps, and three win rates, each the mean
    over seeds with a 95% t interval over seeds (clipped to [0, 1]): ``final`` (the last evaluation), ``best``
    (the best one: biased upwards, the maximum of noisy points) and ``mean`` (the mean over all of a trial's
    evaluations, the area under its learning curve: how early and how well it learned, with the noise of
    one evaluation averaged out)."""
    import pandas as pd

    rows = []
    for variant in sweep.variants:
        for opponent in sweep.opponents:
            mine = df[(df.variant == variant) & (df.opponent == opponent)]
            if mine.empty:
                continue
            per_seed = mine.sort_values("env_steps").groupby("seed")
            row = {"variant": variant, "opponent": opponent, "seeds": per_seed.ngroups,
                   "env_steps": int(round(per_seed.env_steps.last().mean()))}
            for name in STATISTICS:
                values = seed_values(df, variant, opponent, name)
                mean, low, high = t_interval(values)          # (nan, nan) for one seed: min/max keep nan
                row.update({f"{name}_win": mean, f"{name}_win_low": low if math.isnan(low) else max(0.0, low),
                            f"{name}_win_high": high if math.isnan(high) else min(1.0, high)})
            rows.append(row)
    return pd.DataFrame(rows)


#: the per-trial summaries of a learning curve that ``summarize`` and ``compare_to_baseline`` report
STATISTICS = ("final", "best", "mean")


def seed_values(df, variant: str, opponent: str, statistic: str = "mean"):
    """One number per seed of ``variant`` vs ``opponent``: its ``final``, ``best`` or ``mean`` win rate over its
    evaluations (a pandas Series indexed by seed)."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic {statistic!r} is not one of {', '.join(STATISTICS)}")
    wins = df[(df.variant == variant) & (df.opponent == opponent)].sort_values("env_steps").groupby("seed").win_rate
    return {"final": wins.last, "best": wins.max, "mean": wins.mean}[statistic]()


def welch_interval(a, b) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its 95% Welch t interval (unequal variances; the degrees of freedom of
    Welch-Satterthwaite, rounded down: a little wider than exact)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a difference's interval needs >= 2 values on each side, got {len(a)} and {len(b)}")
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((v - mean_a) ** 2 for v in a) / (len(a) - 1) / len(a)     # squared standard errors
    var_b = sum((v - mean_b) ** 2 for v in b) / (len(b) - 1) / len(b)
    diff = mean_a - mean_b
    if var_a + var_b == 0:
        return diff, diff, diff
    dof = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    half = t_quantile_975(max(1, math.floor(dof))) * math.sqrt(var_a + var_b)
    return diff, diff - half, diff + half


def compare_to_baseline(sweep: Sweep, df, statistic: str = "mean", opponent: str | None = None,
                        baseline: str = "baseline"):
    """Each variant against ``baseline``: the difference of its ``statistic`` (mean over seeds) with a 95% Welch
    interval over seeds, whether that interval excludes 0, and ``seeds_for_5_points``: about how many seeds per
    side would give an interval of +-5 points on the difference, at the spread these seeds show
    (``2 * (1.96 * sd / 0.05)**2``, with the normal quantile: a rough count, a little low for few seeds)."""
    import pandas as pd

    opponent = opponent or sweep.opponents[0]
    if baseline not in sweep.variants:
        raise ValueError(f"no variant named {baseline!r} to compare with; variants: {', '.join(sweep.variants)}")
    reference = seed_values(df, baseline, opponent, statistic)
    rows = []
    for variant in sweep.variants:
        values = seed_values(df, variant, opponent, statistic)
        if variant == baseline or len(values) < 2:
            continue
        diff, low, high = welch_interval(values, reference)
        pooled_sd = math.sqrt((values.var() + reference.var()) / 2)
        rows.append({"variant": variant, "seeds": len(values), statistic: float(values.mean()),
                     "difference": diff, "low": low, "high": high, "excludes_zero": bool(low > 0 or high < 0),
                     "seeds_for_5_points": math.ceil(2 * (1.959964 * pooled_sd / 0.05) ** 2)})
    return pd.DataFrame(rows)


def format_table(table, sweep_dir) -> str:
    def rate(mean, low, high):
        band = "[   n/a,    n/a]" if math.isnan(low) else f"[{low:6.1%}, {high:6.1%}]"
        return f"{mean:6.1%} {band}"

    width = max([7] + [len(v) for v in table.variant])
    lines = [f"{sweep_dir}: win rates, mean over seeds [95% t interval over seeds, clipped to 0-100%]",
             f"{'variant':<{width}}  {'opponent':<8}  {'seeds':>5}  {'env steps':>9}  "
             f"{'final win':<23}  {'best win':<23}  {'mean win (all evals)':<23}"]
    for r in table.itertuples():
        lines.append(f"{r.variant:<{width}}  {r.opponent:<8}  {r.seeds:>5}  {r.env_steps:>9}  "
                     f"{rate(r.final_win, r.final_win_low, r.final_win_high)}  "
                     f"{rate(r.best_win, r.best_win_low, r.best_win_high)}  "
                     f"{rate(r.mean_win, r.mean_win_low, r.mean_win_high)}")
    return "\n".join(lines)


def plot_learning_curves(sweep: Sweep, df, path: str | Path) -> Path:
    """Win rate vs env steps: one line per variant (the mean over seeds) with its 95% t band over seeds, one
    panel per opponent."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    grid = sns.relplot(data=df, x="step", y="win_rate", hue="variant", hue_order=list(sweep.variants),
                       col="opponent", col_order=[o for o in sweep.opponents if o in set(df.opponent)],
                       kind="line", marker="o", errorbar=lambda v: t_interval(v)[1:], height=3.5, aspect=1.2)
    grid.set_axis_labels("env steps", "win rate (greedy)")
    grid.set_titles("vs {col_name}")
    grid.set(ylim=(-0.02, 1.02))
    grid.figure.suptitle(f"mean over seeds, band: 95% t interval over seeds ({df.seed.nunique()} seeds)", y=1.02)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(grid.figure)
    return path


def plot_against_baseline(sweep: Sweep, df, path: str | Path, baseline: str = "baseline",
                          opponent: str | None = None) -> Path:
    """One small panel per variant: its win rate vs env steps (mean over seeds, 95% t band over seeds, clipped to
    [0, 1]) over the baseline's, drawn the same way in grey.  Easier to read than every variant in one panel."""
    import matplotlib.pyplot as plt

    opponent = opponent or sweep.opponents[0]
    if baseline not in sweep.variants:
        raise ValueError(f"no variant named {baseline!r} to compare with; variants: {', '.join(sweep.variants)}")
    mine = df[df.opponent == opponent]

    def curve(variant):            # per evaluation point: (steps, mean, low, high) over the seeds
        points = sorted(mine[mine.variant == variant].groupby("step").win_rate)
        stats = [t_interval(wins) for _, wins in points]
        steps = [step for step, _ in points]
        mean = [m for m, _, _ in stats]
        low = [max(0.0, lo) if not math.isnan(lo) else m for m, lo, _ in stats]
        high = [min(1.0, hi) if not math.isnan(hi) else m for m, _, hi in stats]
        return steps, mean, low, high

    others = [v for v in sweep.variants if v != baseline]
    cols = min(4, max(1, len(others)))
    rows = math.ceil(len(others) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    reference = curve(baseline)
    for ax, variant in zip(axes.flat, others):
        for (steps, mean, low, high), color, label in ((reference, "grey", baseline), (curve(variant), "C0", variant)):
            ax.plot(steps, mean, color=color, marker=".", label=label)
            ax.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
        ax.set_title(variant, fontsize=10)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(others):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("win rate")
    for ax in axes[-1, :]:
        ax.set_xlabel("env steps")
    seeds = df.groupby("variant").seed.nunique()
    fig.suptitle(f"vs {opponent}: each variant (blue) over {baseline} (grey); mean over seeds ({seeds.min()}-"
                 f"{seeds.max()} each), band: 95% t interval over seeds", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def print_results(sweep_dir: str | Path, csv_path: str | Path | None = None,
                  figure: str | Path | None = None) -> None:
    """``sweep-results``: print the table, write it as CSV and save the learning-curve figure."""
    sweep_dir = Path(sweep_dir)
    sweep, df = load_results(sweep_dir)
    table = summarize(sweep, df)
    print(format_table(table, sweep_dir))
    csv_path = Path(csv_path) if csv_path else sweep_dir / "results.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, index=False)
    curves = curve_points(df)
    curves_path = csv_path.with_name(CURVES_CSV)
    curves.to_csv(curves_path, index=False)
    if csv_path.parent.resolve() != sweep_dir.resolve():   # published: the folder stands alone (load_results)
        shutil.copyfile(sweep_dir / SWEEP_FILE, csv_path.parent / SWEEP_FILE)
    figure = plot_learning_curves(sweep, df, figure or sweep_dir / "learning_curves.png")
    print(f"table: {csv_path}  every evaluation with 95% Wilson intervals over its games: {curves_path}  "
          f"figure: {figure}")
