"""dreamer_edu: learn DreamerV3 by building it, on the course air-hockey game."""
from .agent import Dreamer
from .config import Config, ConfigWarning
from .distributions import TanhNormal, TwoHot, symexp, symlog
from .dreamsmooth import ema_smooth, smooth_rewards
from .envs import BasicOpponent, HockeyEnv, make_env
from .returns import Moments, lambda_returns
from .trainer import Trainer

__version__ = "0.1.0"
__all__ = ["Config", "ConfigWarning", "Dreamer", "Trainer", "HockeyEnv", "BasicOpponent", "make_env", "TwoHot",
           "TanhNormal", "symlog", "symexp", "lambda_returns", "Moments", "ema_smooth", "smooth_rewards"]
