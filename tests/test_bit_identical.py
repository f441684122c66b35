"""A fixed-seed training run gives the same bits as when this file's reference was recorded.

Restructuring the code (moving the update between files, flattening the training loop, sharing the game loop)
must not change a single number.  This test runs a short seeded training run (random warm-up games, then 300
updates of a tiny config with its evaluations and checkpoint) and compares SHA-256 fingerprints of

* every weight, buffer and optimiser state of the agent,
* the logged metrics (the trainer's ``history``) and the evaluation rows,
* the replay buffer's contents,

with ``tests/data/bit_identical.json``.  Floating-point results depend on the CPU's vector instructions and the
torch version, so the exact comparison runs where the reference was recorded (same torch version and CPU
capability); elsewhere the test says so and is skipped.  A change that is *meant* to change numbers records a
new reference, and says why in its commit:

    python tests/test_bit_identical.py --write
"""
from __future__ import annotations

import csv
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

REFERENCE = Path(__file__).resolve().parent / "data" / "bit_identical.json"


def platform_key() -> dict:
    return {"torch": torch.__version__, "machine": platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": 1}


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for name, array in arrays:
        array = np.ascontiguousarray(array)
        h.update(name.encode())
        h.update(str(array.dtype).encode() + str(array.shape).encode())
        h.update(array.tobytes())
    return h.hexdigest()


VARIANTS = {
    "guide": {},
    # the other code paths: bf16 autocast, the official actor and bootstrap, two training games side by side
    "bf16-official-2games": {"amp": True, "actor_dist": "bounded_normal", "critic_bootstrap": "online",
                             "train_envs": 2},
}


def fingerprint(run_dir: Path, variant: str) -> dict:
    """Train the reference run of ``variant`` in ``run_dir`` and fingerprint everything it produced."""
    from dreamer_edu.config import Config
    from dreamer_edu.trainer import Trainer

    torch.set_num_threads(1)
    config = Config.quick(mode="TRAIN_SHOOTING", opponent="none", seed=7, warmup_episodes=3, total_env_steps=400,
                          eval_every_steps=200, eval_games=3, eval_parallel=3, log_every_updates=25,
                          deter_size=32, hidden_size=32, latent_length=4, latent_classes=4, batch_size=4,
                          batch_length=8, horizon=5, replay_ratio=64.0, buffer_capacity=5_000,
                          checkpoint_minutes=10_000.0,   # no save on the clock: it would regroup the logged means
                          **VARIANTS[variant])
    trainer = Trainer(config, run_dir, progress=False)
    trainer.train()
    agent = trainer.agent
    state = agent.checkpoint_state()
    weights = [(k, v.detach().cpu().numpy()) for k, v in state["model"].items()]
    optimisers = []
    for name in ("world_opt", "actor_opt", "critic_opt"):
        for index, values in sorted(state[name]["state"].items()):
            for key, value in sorted(values.items()):
                optimisers.append((f"{name}/{index}/{key}", torch.as_tensor(value).cpu().numpy()))
    history = [(f"{i}/{k}", np.float64(v)) for i, row in enumerate(trainer.history) for k, v in sorted(row.items())]
    with (run_dir / "eval.csv").open() as f:       # every evaluation row, without its wall-clock time
        evals = json.dumps([{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(f)])
    buffer = [(k, v) for k, v in sorted(trainer.buffer.state_dict().items()) if isinstance(v, np.ndarray)]
    return {"updates": int(agent.updates), "env_steps": int(trainer.env_steps), "episodes": int(trainer.episodes),
            "weights": _digest(weights), "optimisers": _digest(optimisers), "history": _digest(history),
            "evaluations": hashlib.sha256(evals.encode()).hexdigest(), "replay": _digest(buffer)}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_seeded_run_is_bit_identical_to_the_reference(tmp_path, variant):
    reference = json.loads(REFERENCE.read_text())
    if reference["platform"] != platform_key():
        pytest.skip(f"the reference was recorded on {reference['platform']}, this is {platform_key()}: "
                    "floating-point results differ between CPUs and torch versions (record one here with "
                    "`python tests/test_bit_identical.py --write` before a refactor)")
    got = fingerprint(tmp_path / "run", variant)
    assert got["updates"] >= 300, got            # the run really trains: a few hundred updates
    expected = reference["fingerprints"][variant]
    differ = [key for key in expected if expected[key] != got[key]]
    assert not differ, f"{variant}: these differ from the recorded run: {', '.join(differ)}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_bit_identical.py --write   (records a new reference)")
    result = {"platform": platform_key(), "fingerprints": {}}
    for name in VARIANTS:
        with tempfile.TemporaryDirectory() as folder:
            result["fingerprints"][name] = fingerprint(Path(folder) / "run", name)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {REFERENCE}: " + ", ".join(f"{k}: {v['updates']} updates" for k, v in result["fingerprints"].items()))
