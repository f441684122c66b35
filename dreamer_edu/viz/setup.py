"""The first cell of every notebook: quick mode, seeds, the thread policy and the device, in one call."""
from __future__ import annotations

import os

import numpy as np
import torch

from ..agent import set_threads
from ..config import Config

QUICK_ENV = "DREAMER_EDU_QUICK"     # "1": small models and short runs (what the tests run); anything else: full mode


def notebook_setup(seed: int = 0) -> tuple[bool, torch.device]:
    """Read the quick flag, seed torch and numpy, give torch its thread count (``Config.threads``, one thread:
    fast beside other busy programs) and pick the device.  Returns ``(quick, device)``."""
    quick = os.environ.get(QUICK_ENV) == "1"
    torch.manual_seed(seed)
    np.random.seed(seed)
    set_threads(Config().threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return quick, device
