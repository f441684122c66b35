"""Every hyperparameter of dreamer_edu in one dataclass (guide ch. 13 and 15).

The defaults are the guide's "final configuration" for hockey.  Where the guide is plainly wrong the code
follows DreamerV3 instead; where the guide only *differs* from the official DreamerV3, both choices are
fields here (``actor_dist``, ``critic_bootstrap``, ``dreamsmooth_method``) and the notebooks compare them.

``Config.validate()`` refuses impossible values with the reason, and warns (``ConfigWarning``) about the
pitfalls the guide's chapter 14 describes: an actor that learns faster than its critic, a log-std floor that
lets the policy's entropy go negative, and a replay ratio below 16.

What "replay ratio" means (the guide is ambiguous, DESIGN item 5): here it is the official DreamerV3
definition, *replayed time steps per environment step*.  One update replays ``batch_size * batch_length``
steps (32 x 32 = 1024), so ``replay_ratio = 32`` means one gradient update every 32 environment steps.
``Config.updates_per_env_step`` gives the other reading; the trainer prints both at start.
``Config.quick()`` uses 64 and ``Config()`` the guide's 32; the measurements behind both choices are in
``benchmarks/NOTES.md`` (section "Replay ratio").

Threads: every run sets torch's CPU thread count from ``threads``, 1 by default, so that a run stays fast beside
other busy programs (a browser, a notebook, a second run): more threads than free cores make every update wait
for a thread that is not running.  ``--threads N`` overrides it on a machine that is yours alone
(``benchmarks/thread_policy.py`` measures both cases; ``benchmarks/NOTES.md`` has the numbers).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, fields

#: The log-std at which a Normal's entropy per dimension is exactly zero: -0.5 * ln(2*pi*e).
ZERO_ENTROPY_LOG_STD = -0.5 * math.log(2 * math.pi * math.e)  # -1.4189

ACTOR_DISTS = ("tanh_normal", "bounded_normal")
CRITIC_BOOTSTRAPS = ("slow", "online")
TWOHOT_SPACES = ("symlog", "raw")
DREAMSMOOTH_METHODS = ("ema", "causal_ema", "gaussian", "uniform")
DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("builtin", "official", "auto")
MODES = ("NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE")
OPPONENTS = ("weak", "strong", "none")     # the course's BasicOpponent, weak or strong; "none" stands still
SELF_PLAY = "self"                         # training only: a snapshot from the self-play pool (selfplay.py)
TRAINING_OPPONENTS = OPPONENTS + (SELF_PLAY,)
SELFPLAY_SAMPLINGS = ("uniform", "winrate")
PRESETS = ("guide", "quick", "cpu")        # Config(), Config.quick(), Config.cpu(): see Config.preset


class ConfigWarning(UserWarning):
    """A legal but risky setting (one of the guide's chapter-14 pitfalls)."""


@dataclass
class Config:
    # --- environment ---------------------------------------------------------------------------
    mode: str = "NORMAL"                 # NORMAL | TRAIN_SHOOTING | TRAIN_DEFENSE (training and evaluation)
    curriculum: str = ""                 # training modes in stages, e.g. "TRAIN_SHOOTING:20000,NORMAL" (below)
    opponent: str = "weak"               # weak | strong | none | self, or a mixture "weak:0.5,strong:0.5" (below)
    backend: str = "builtin"             # builtin | official (the course package) | auto
    seed: int = 42
    reward_closeness_scale: float = 1.0  # training reward: goals +- 10 plus this times the closeness penalty
    # the self-play pool that opponent "self" draws from (ch. 15, selfplay.py)
    selfplay_pool_size: int = 10         # snapshots kept; the oldest leaves a full pool
    selfplay_every_steps: int = 10_000   # env steps between snapshots (the first: the untrained agent)
    selfplay_sampling: str = "uniform"   # uniform | winrate (snapshots that beat the agent, more often)

    # --- world model: RSSM (ch. 3-4, 13) -------------------------------------------------------
    deter_size: int = 256                # GRU state h ("recurrentSize")
    latent_length: int = 16              # number of categorical variables in z
    latent_classes: int = 16             # classes per variable -> z is 16 x 16 one-hots
    hidden_size: int = 256               # width of every MLP
    mlp_layers: int = 2                  # hidden layers per MLP
    unimix: float = 0.01                 # 1% uniform mix into every categorical
    free_nats: float = 1.0               # KL below this is not penalised
    kl_dynamics_scale: float = 0.5       # KL(sg(post) || prior): trains the prior
    kl_representation_scale: float = 0.1 # KL(post || sg(prior)): trains the encoder/posterior
    twohot_bins: int = 255               # two-hot reward/value heads (ch. 10)
    twohot_low: float = -20.0            # bin range in symlog space
    twohot_high: float = 20.0
    twohot_space: str = "symlog"         # guide: bins and mean in symlog space; "raw": official 2024 (ch. 10)
    use_aux_heads: bool = True           # goal-soon / puck-distance / shot-quality heads (ch. 15)
    aux_goal_horizon: int = 15           # "goal within the next N steps"
    aux_scale: float = 1.0

    # --- behaviour: imagination, actor, critic (ch. 5-9) ----------------------------------------
    horizon: int = 15                    # imagination steps
    discount: float = 0.997
    lambda_: float = 0.95
    entropy_scale: float = 3e-4
    actor_dist: str = "tanh_normal"      # guide: tanh-squashed Normal; "bounded_normal": official DreamerV3
    log_std_min: float = -0.5            # tanh_normal: sigma in [0.606, 7.39]
    log_std_max: float = 2.0
    min_std: float = 0.1                 # bounded_normal: sigma in [0.1, 1]
    max_std: float = 1.0
    slow_critic_decay: float = 0.98      # slow critic <- decay * slow + (1 - decay) * critic, every update
    critic_bootstrap: str = "slow"       # guide: returns from the slow critic; "online": official DreamerV3
    slow_critic_reg: float = 1.0         # weight of the slow-critic regulariser (critic_bootstrap="online")
    replay_critic_scale: float = 0.0     # official 0.3: critic also learns lambda-returns of replayed real games
    return_norm_decay: float = 0.99      # Moments (ch. 9)
    return_norm_low: float = 0.05
    return_norm_high: float = 0.95
    return_norm_floor: float = 1.0

    # --- optimisation (ch. 13) -----------------------------------------------------------------
    lr_world: float = 3e-4
    lr_actor: float = 1e-4
    lr_critic: float = 1e-4
    adam_eps: float = 1e-8
    grad_clip: float = 100.0
    batch_size: int = 32                 # sequences per batch
    batch_length: int = 32               # time steps per sequence

    # --- sparse rewards: DreamSmooth (ch. 11) --------------------------------------------------
    use_dreamsmooth: bool = True
    dreamsmooth_method: str = "ema"      # the guide's backward EMA; see dreamsmooth.py for the others
    dreamsmooth_alpha: float = 0.5

    # --- schedule (ch. 12) ---------------------------------------------------------------------
    replay_ratio: float = 32.0           # replayed steps per env step (see module docstring)
    warmup_episodes: int = 100           # random-policy games before the first update
    buffer_capacity: int = 250_000       # replay capacity in time steps
    total_env_steps: int = 2_000_000
    eval_every_steps: int = 25_000
    eval_games: int = 50
    eval_parallel: int = 50              # evaluation games played side by side (benchmarks/eval_speed.py)
    train_envs: int = 1                  # training games played side by side (benchmarks/NOTES.md)
    log_every_updates: int = 50
    checkpoint_minutes: float = 5.0

    # --- performance ---------------------------------------------------------------------------
    device: str = "auto"                 # auto | cpu | cuda
    threads: int = 1                     # torch CPU threads (0 = torch's default, one per core); see below
    amp: bool = False                    # bf16 autocast of the networks, CPU or CUDA (benchmarks/NOTES.md)
    compile: bool = False                # torch.compile each MLP block and the GRU cell (benchmarks/NOTES.md)
    cuda_graphs: bool = False            # record the update once as a CUDA graph and replay it (GPU only)

    # ------------------------------------------------------------------------------------------
    @property
    def stoch_size(self) -> int:
        """Flattened size of the stochastic state z."""
        return self.latent_length * self.latent_classes

    @property
    def feature_size(self) -> int:
        """Size of the model state [h, z] that every head reads (256 + 256 = 512 by default)."""
        return self.deter_size + self.stoch_size

    @property
    def updates_per_env_step(self) -> float:
        """Gradient updates per environment step implied by ``replay_ratio``."""
        return self.replay_ratio / (self.batch_size * self.batch_length)

    # ------------------------------------------------------------------------------------------
    def validate(self) -> "Config":
        """Raise ``ValueError`` for impossible values; warn (``ConfigWarning``) for risky ones.

        Which speed settings (``amp``, ``compile``, ``cuda_graphs``) a device allows is decided where the device
        is known, in ``speed.check_device_settings``."""
        if self.selfplay_pool_size == 0:
            raise ValueError(f"Config.selfplay_pool_size = 0 leaves the self-play pool empty (opponent {SELF_PLAY!r} "
                             "plays its snapshots); it must be a positive integer")
        positive_ints = ("deter_size", "latent_length", "latent_classes", "hidden_size", "horizon",
                         "batch_size", "twohot_bins", "warmup_episodes", "buffer_capacity",
                         "eval_games", "eval_parallel", "train_envs", "log_every_updates", "aux_goal_horizon",
                         "selfplay_pool_size", "selfplay_every_steps")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Config.{name} must be a positive integer, got {value!r}")
        if self.mlp_layers < 1:
            raise ValueError(f"Config.mlp_layers must be >= 1, got {self.mlp_layers}")
        if self.batch_length < 2:
            raise ValueError(f"Config.batch_length must be >= 2 (a sequence needs a transition), "
                             f"got {self.batch_length}")
        if self.buffer_capacity < self.batch_length:
            raise ValueError(f"Config.buffer_capacity ({self.buffer_capacity}) must hold at least one "
                             f"sequence of batch_length ({self.batch_length})")
        for name in ("lr_world", "lr_actor", "lr_critic", "adam_eps", "grad_clip", "replay_ratio",
                     "return_norm_floor", "total_env_steps", "eval_every_steps", "checkpoint_minutes"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"Config.{name} must be a finite number > 0, got {value!r}")
        for name in ("free_nats", "kl_dynamics_scale", "kl_representation_scale", "entropy_scale",
                     "aux_scale", "slow_critic_reg", "replay_critic_scale", "reward_closeness_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Config.{name} must be finite and >= 0, got {value!r}")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"Config.discount must be in (0, 1], got {self.discount}")
        if not 0.0 <= self.lambda_ <= 1.0:
            raise ValueError(f"Config.lambda_ must be in [0, 1], got {self.lambda_}")
        if not 0.0 <= self.unimix < 1.0:
            raise ValueError(f"Config.unimix must be in [0, 1), got {self.unimix}")
        for name in ("slow_critic_decay", "return_norm_decay", "dreamsmooth_alpha"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"Config.{name} must be in [0, 1), got {value}")
        if not 0.0 <= self.return_norm_low < self.return_norm_high <= 1.0:
            raise ValueError("Config.return_norm_low < return_norm_high must both lie in [0, 1], got "
                             f"{self.return_norm_low} and {self.return_norm_high}")
        if not self.twohot_low < self.twohot_high:
            raise ValueError(f"Config.twohot_low ({self.twohot_low}) must be < twohot_high ({self.twohot_high})")
        if not self.log_std_min < self.log_std_max:
            raise ValueError(f"Config.log_std_min ({self.log_std_min}) must be < log_std_max ({self.log_std_max})")
        if not 0.0 < self.min_std < self.max_std:
            raise ValueError(f"Config.min_std ({self.min_std}) must be > 0 and < max_std ({self.max_std})")
        self._check_choice("actor_dist", ACTOR_DISTS)
        self._check_choice("critic_bootstrap", CRITIC_BOOTSTRAPS)
        self._check_choice("twohot_space", TWOHOT_SPACES)
        self._check_choice("selfplay_sampling", SELFPLAY_SAMPLINGS)
        self._check_choice("dreamsmooth_method", DREAMSMOOTH_METHODS)
        self._check_choice("device", DEVICES)
        self._check_choice("mode", MODES)
        self.curriculum_stages()
        self.opponent_mixture()
        self._check_choice("backend", BACKENDS)
        if self.threads < 0:
            raise ValueError(f"Config.threads must be >= 0 (0 = torch's default), got {self.threads}")

        # The guide's pitfalls (ch. 13-14): legal, but warn with the reason.
        if self.lr_actor > self.lr_critic:
            warnings.warn(f"lr_actor ({self.lr_actor}) > lr_critic ({self.lr_critic}): the actor then chases "
                          "stale value estimates (guide ch. 13, 'the actor-critic hierarchy').",
                          ConfigWarning, stacklevel=2)
        if self.actor_dist == "tanh_normal" and self.log_std_min < ZERO_ENTROPY_LOG_STD:
            warnings.warn(f"log_std_min = {self.log_std_min} is below {ZERO_ENTROPY_LOG_STD:.3f} "
                          "(sigma < 0.242): the Gaussian entropy per dimension can go negative and the entropy "
                          "bonus then rewards collapsing the policy (guide ch. 6 and 14).",
                          ConfigWarning, stacklevel=2)
        if self.replay_ratio < 16:
            warnings.warn(f"replay_ratio = {self.replay_ratio} < 16: too few updates per environment step "
                          "for DreamerV3's sample efficiency (guide ch. 13).", ConfigWarning, stacklevel=2)
        return self

    def curriculum_stages(self) -> list[tuple[str, int | None]]:
        """``curriculum`` as (mode, env steps) stages; the last one has no length and lasts to the end.

        ``"TRAIN_SHOOTING:20000,TRAIN_DEFENSE:20000,NORMAL"`` trains 20,000 env steps in the shooting drill, then
        20,000 in the defence drill, then full games.  Empty: every training game is in ``mode``.  Evaluation is
        always in ``mode`` (the goal of the curriculum), against ``opponent``."""
        if not self.curriculum.strip():
            return [(self.mode, None)]
        stages = []
        parts = [part.strip() for part in self.curriculum.split(",")]
        for i, part in enumerate(parts):
            mode, _, steps = part.partition(":")
            mode = mode.strip()
            if mode not in MODES:
                raise ValueError(f"Config.curriculum: unknown mode {mode!r} in {self.curriculum!r}; "
                                 f"modes are {', '.join(MODES)}")
            last = i == len(parts) - 1
            if not steps.strip():
                if not last:
                    raise ValueError(f"Config.curriculum: stage {part!r} needs a length in env steps "
                                     f"(MODE:STEPS); only the last stage may omit it")
                stages.append((mode, None))
                continue
            try:
                length = int(steps)
            except ValueError:
                length = -1
            if length < 1:
                raise ValueError(f"Config.curriculum: stage {part!r} must last a positive whole number of env steps")
            stages.append((mode, None if last else length))
        return stages

    def opponent_mixture(self) -> list[tuple[str, float]]:
        """``opponent`` as (name, probability) pairs: each training game draws its opponent from them.

        ``"weak"`` is [("weak", 1.0)]; ``"weak:0.5,strong:0.5"`` trains half the games against each bot, and
        ``"weak:0.4,strong:0.4,self:0.2"`` one game in five against a snapshot of the agent itself (the self-play
        pool, ``selfplay.py``).  The probabilities must be positive and sum to 1.  Evaluation plays every bot of
        the mixture (``eval_opponents``), the first one's result being the run's headline win rate."""
        parts = [part.strip() for part in str(self.opponent).split(",")]
        if len(parts) == 1 and ":" not in parts[0]:
            if parts[0] not in TRAINING_OPPONENTS:
                raise ValueError(f"Config.opponent = {self.opponent!r} is not one of {', '.join(TRAINING_OPPONENTS)} "
                                 "(or a mixture such as weak:0.5,strong:0.5)")
            return [(parts[0], 1.0)]
        mixture = []
        for part in parts:
            name, colon, share = part.partition(":")
            name = name.strip()
            if name not in TRAINING_OPPONENTS:
                raise ValueError(f"Config.opponent: unknown opponent {name!r} in {self.opponent!r}; opponents are "
                                 f"{', '.join(TRAINING_OPPONENTS)}")
            try:
                probability = float(share) if colon else float("nan")
            except ValueError:
                probability = float("nan")
            if not (math.isfinite(probability) and probability > 0):
                raise ValueError(f"Config.opponent: {part!r} in {self.opponent!r} needs a probability > 0 "
                                 "(NAME:P, e.g. weak:0.5,strong:0.5)")
            if name in (n for n, _ in mixture):
                raise ValueError(f"Config.opponent: {name!r} appears twice in {self.opponent!r}")
            mixture.append((name, probability))
        total = sum(p for _, p in mixture)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"Config.opponent: the probabilities in {self.opponent!r} sum to {total:g}, not 1")
        return mixture

    @property
    def eval_opponents(self) -> list[str]:
        """The opponents evaluation plays: every bot of the mixture, in its order (the self-play pool changes as
        the agent trains, so it is no yardstick; a run against the pool alone is measured against both bots)."""
        bots = [name for name, _ in self.opponent_mixture() if name != SELF_PLAY]
        return bots or ["weak", "strong"]

    @property
    def uses_selfplay(self) -> bool:
        """Whether some training games are played against the self-play pool."""
        return any(name == SELF_PLAY for name, _ in self.opponent_mixture())

    def mode_at(self, env_steps: int) -> str:
        """The training mode of the curriculum stage that ``env_steps`` falls in."""
        start = 0
        for mode, length in self.curriculum_stages():
            if length is None or env_steps < start + length:
                return mode
            start += length
        raise AssertionError("the last curriculum stage has no end")

    def _check_choice(self, name: str, valid: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in valid:
            raise ValueError(f"Config.{name} = {value!r} is not one of {', '.join(valid)}")

    # ------------------------------------------------------------------------------------------
    def replace(self, **changes) -> "Config":
        """A copy with some fields changed (unknown names raise ``ValueError``)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown Config field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> "Config":
        """Apply ``key=value`` strings (as given to ``--config-override``), converting to each field's type."""
        changes = {}
        types = {f.name: f.type for f in fields(self)}
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"config override {item!r} must look like key=value")
            key, raw = item.split("=", 1)
            key = key.strip().replace("-", "_")
            if key not in types:
                close = [n for n in types if key.split("_")[0] in n][:5]
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"unknown config key {key!r}{hint}")
            changes[key] = _parse_value(key, raw.strip(), getattr(self, key))
        return self.replace(**changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def quick(cls, **changes) -> "Config":
        """A small configuration that trains in minutes on a laptop CPU (tests, notebooks, ``--quick``)."""
        small = dict(deter_size=64, latent_length=8, latent_classes=8, hidden_size=64, mlp_layers=1,
                     batch_size=16, batch_length=16, horizon=10, warmup_episodes=10, buffer_capacity=50_000,
                     replay_ratio=64.0, total_env_steps=20_000, eval_every_steps=5_000, eval_games=20,
                     log_every_updates=20, checkpoint_minutes=2.0, lr_world=1e-3, lr_actor=3e-4,
                     lr_critic=3e-4)
        small.update(changes)
        return cls(**small)

    @classmethod
    def cpu(cls, **changes) -> "Config":
        """What learned full hockey games fastest on a 2-core CPU (one torch thread): ``Config.quick()`` with the
        official DreamerV3's bounded-Normal actor and online critic, and four times the replay ratio.  The
        comparison behind it (``sweeps/cpu_preset.yaml``) is in benchmarks/NOTES.md, "A preset for CPUs"."""
        return cls.quick(**{"actor_dist": "bounded_normal", "critic_bootstrap": "online", "replay_ratio": 256.0,
                            **changes})

    @classmethod
    def preset(cls, name: str) -> "Config":
        """``"guide"``: the guide's sizes, ``Config()`` (made for a GPU); ``"quick"``: ``Config.quick()``, small
        and fast (tests, notebooks); ``"cpu"``: ``Config.cpu()``, what learns hockey fastest without a GPU."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; presets are {', '.join(PRESETS)}")
        return {"guide": cls, "quick": cls.quick, "cpu": cls.cpu}[name]()


def _parse_value(key: str, raw: str, current):
    """Convert a command-line string to the type of the field's current value."""
    try:
        if isinstance(current, bool):
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if isinstance(current, int):
            as_float = float(raw)
            if not as_float.is_integer():
                raise ValueError("expected an integer")
            return int(as_float)
        if isinstance(current, float):
            return float(raw)
        return raw
    except ValueError as err:
        raise ValueError(f"config override {key}={raw!r}: {err}") from None

