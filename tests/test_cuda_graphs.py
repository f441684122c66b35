"""The update is ready for a GPU: no host syncs, state changed in place, and CUDA graphs (``Config.cuda_graphs``).

Most of these run on a CPU.  The "meta" device holds shapes but no data, so every operation that would make the
host wait for a GPU (``.item()``, ``bool(tensor)``, ``.cpu()``, ``.tolist()``) raises there, and so does mixing in
a tensor of one or more dimensions that was created on the host by mistake.  What the meta run does not cover:
0-dim host tensors (torch accepts them next to device tensors, on a GPU too, as plain numbers), bf16 autocast
(which has no meta version), and Adam's capturable variant (on meta Adam keeps its step count on the host).
"""
import copy

import numpy as np
import pytest
import torch

import dreamer_edu.actor_critic as actor_critic
from dreamer_edu.agent import BATCH_KEYS, Dreamer
from dreamer_edu.checkpoint import CHECKPOINT_NAME, FORMAT_VERSION, atomic_torch_save, read_checkpoint
from dreamer_edu.config import Config, ConfigWarning
from dreamer_edu.evaluate import load_agent
from dreamer_edu.returns import Moments
from dreamer_edu.speed import GRAPH_WARMUP_UPDATES, GraphedUpdate
from dreamer_edu.trainer import Trainer
from test_agent import synthetic_batch
from test_cli import run_cli
from test_trainer import tiny_config


def meta_batch(config: Config) -> dict[str, torch.Tensor]:
    B, T = config.batch_size, config.batch_length
    shapes = {"obs": (B, T, 18), "action": (B, T, 4)}
    return {key: torch.zeros(shapes.get(key, (B, T)), device="meta",
                             dtype=torch.bool if key.startswith("is_") else torch.float32)
            for key in BATCH_KEYS}


@pytest.mark.parametrize("config", [Config.quick(), Config.quick(critic_bootstrap="online"), Config()],
                         ids=["quick", "online-bootstrap", "default"])
def test_an_update_never_waits_for_the_device(config):
    agent = Dreamer(config, device="meta")
    for _ in range(2):   # the second update also runs the Adam steps with existing moments
        metrics = agent.train_step(meta_batch(config))
    assert agent.updates == 2
    assert len(metrics) > 20 and all(v.device.type == "meta" for v in metrics.values())
    assert all(p.device.type == "meta" for p in agent.parameters())


def test_the_meta_check_catches_a_host_sync_and_a_host_tensor(monkeypatch):
    """The check above can fail: a single ``.item()`` or a tensor made on the host breaks the update on meta."""
    config = Config.quick()
    original = Moments.forward

    def forward_with_item(self, returns):
        if returns.mean().item() > 1e9:   # a Python branch on a device value: the host would wait here
            pass
        return original(self, returns)

    monkeypatch.setattr(Moments, "forward", forward_with_item)
    with pytest.raises((RuntimeError, NotImplementedError), match="meta"):
        Dreamer(config, device="meta").train_step(meta_batch(config))
    monkeypatch.setattr(Moments, "forward", original)

    lambda_returns = actor_critic.lambda_returns

    def lambda_returns_on_host(rewards, values, continues, discount, lambda_):
        bonus = torch.zeros(rewards.shape[-1])   # forgot device=...: made on the host
        return lambda_returns(rewards + bonus, values, continues, discount, lambda_)

    monkeypatch.setattr(actor_critic, "lambda_returns", lambda_returns_on_host)
    with pytest.raises(RuntimeError, match="device"):
        Dreamer(config, device="meta").train_step(meta_batch(config))


def test_an_update_changes_its_state_in_place():
    """A CUDA graph replays reads and writes at fixed addresses: weights, Adam moments and step counts, the
    Moments EMAs and the slow critic must be updated in place, never replaced by new tensors."""
    agent = Dreamer(Config.quick())
    agent.train_step(synthetic_batch())   # the first update creates the Adam states

    def addresses():
        tensors = {f"param {n}": p for n, p in agent.named_parameters()}
        tensors.update({f"buffer {n}": b for n, b in agent.named_buffers()})
        for name, opt in (("world", agent.world_opt), ("actor", agent.actor_opt), ("critic", agent.critic_opt)):
            for i, state in enumerate(opt.state.values()):
                tensors.update({f"{name} adam {i} {k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
        return {name: t.data_ptr() for name, t in tensors.items()}

    before = {name: p.detach().clone() for name, p in agent.named_parameters()}
    first = addresses()
    agent.train_step(synthetic_batch(seed=1))
    assert addresses() == first
    assert {"moments.low_ema", "moments.high_ema"} <= {n for n, _ in agent.named_buffers()}
    assert any(not torch.equal(p, before[n]) for n, p in agent.named_parameters() if n.startswith("slow_critic"))


def test_an_agent_refuses_cuda_graphs_without_a_gpu_and_with_compile():
    """The agent asks speed.check_device_settings (tests/test_speed.py) before it is built for a device."""
    with pytest.raises(ValueError, match="cuda_graphs=True needs a CUDA GPU.*cpu.*cuda_graphs=false"):
        Dreamer(Config.quick(cuda_graphs=True), device="cpu")
    with pytest.raises(ValueError, match="cuda_graphs=True needs a CUDA GPU.*meta"):
        Dreamer(Config.quick(cuda_graphs=True), device="meta")
    with pytest.raises(ValueError, match="not supported together"):
        Dreamer(Config.quick(cuda_graphs=True, compile=True), device="meta")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_the_cli_refuses_cuda_graphs_without_a_gpu_in_one_line(tmp_path):
    result = run_cli("train", "--quick", "--steps", "10", "--run-dir", str(tmp_path / "run"),
                     "--config-override", "cuda_graphs=true")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cuda_graphs=True needs a CUDA GPU" in result.stderr and "cuda_graphs=false" in result.stderr


def test_a_cuda_graph_run_can_be_played_on_a_cpu(tmp_path):
    """Evaluation and play only act: the weights of a run trained with cuda_graphs load anywhere."""
    trained = Dreamer(Config.quick())
    state = {"format": FORMAT_VERSION, "config": Config.quick(cuda_graphs=True).to_dict(),
             "agent": trained.checkpoint_state(), "counters": {}}
    atomic_torch_save(state, tmp_path / CHECKPOINT_NAME)
    agent, config, _ = load_agent(tmp_path, device="cpu")
    assert config.cuda_graphs and not agent.config.cuda_graphs
    for (name, a), b in zip(trained.state_dict().items(), agent.state_dict().values()):
        assert torch.equal(a, b), name
    action, _ = agent.policy(np.zeros(18, np.float32))
    assert action.shape == (4,)


def test_a_cuda_graph_run_resumes_on_a_cpu_without_them(tmp_path, monkeypatch):
    """A run trained with cuda_graphs saves Adam states with capturable=True; a machine without a GPU continues
    it with ordinary updates (and says so) instead of failing in Adam."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)   # also on a machine that has a GPU
    run = tmp_path / "run"
    Trainer(tiny_config(total_env_steps=200), run, progress=False).train()
    saved = read_checkpoint(run / CHECKPOINT_NAME)
    saved["config"]["cuda_graphs"] = True              # what a GPU run with cuda_graphs=true writes
    for name in ("world_opt", "actor_opt", "critic_opt"):
        for group in saved["agent"][name]["param_groups"]:
            group["capturable"] = True
    atomic_torch_save(saved, run / CHECKPOINT_NAME)
    with pytest.warns(ConfigWarning, match="continues with cuda_graphs=false"):
        resumed = Trainer(Config(), run, resume=True, progress=False, total_env_steps=300)
    assert not resumed.config.cuda_graphs
    resumed.train()
    assert resumed.env_steps >= 300
    assert not any(group["capturable"] for opt in (resumed.agent.world_opt, resumed.agent.actor_opt,
                                                    resumed.agent.critic_opt) for group in opt.param_groups)


@pytest.mark.cuda
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
def test_cuda_graph_updates_match_ordinary_updates(amp):
    """Same weights, same batches, same random stream: replaying the recorded update gives what the ordinary
    update gives, before and after a checkpoint is loaded (which replaces the optimiser states).

    The reference runs the ordinary update (``Dreamer.update``) with the same capturable Adam: capturable Adam computes
    its bias corrections on the device in float32, the ordinary one in Python doubles, and a last-bit difference
    in a weight can flip a sampled latent and with it a whole imagined trajectory.  (If this test ever fails on
    a GPU by a small margin, suspect exactly that, e.g. a different cuBLAS algorithm on the recording's stream,
    before suspecting the recording.)"""
    config = Config.quick(amp=amp).replace(cuda_graphs=True)
    torch.manual_seed(0)
    reference = Dreamer(config, device="cuda")
    graphed = Dreamer(config, device="cuda")
    graphed.load_state_dict(reference.state_dict())
    tolerance = dict(rtol=1e-3, atol=1e-5) if amp else dict(rtol=1e-4, atol=1e-6)

    def run(updates, first_seed):
        for i in range(updates):
            batch = synthetic_batch(config.batch_size, config.batch_length, seed=first_seed + i)
            torch.manual_seed(1000 + first_seed + i)
            expected = reference.update(reference.batch_to_torch(batch))
            torch.manual_seed(1000 + first_seed + i)
            got = graphed.train_step(batch)
            for name, value in expected.items():
                torch.testing.assert_close(got[name], value.float(), **tolerance, msg=f"update {i}: {name}")
        for (name, a), b in zip(reference.state_dict().items(), graphed.state_dict().values()):
            torch.testing.assert_close(b, a, **tolerance, msg=name)

    run(GRAPH_WARMUP_UPDATES + 3, first_seed=0)   # warm-up, recording + replay, then plain replays
    assert isinstance(graphed.run_update, GraphedUpdate)
    assert graphed.run_update.graph is not None and graphed.updates == GRAPH_WARMUP_UPDATES + 3
    # a replay advances the random generator like the ordinary update does, so the next draws are new ones
    batch = synthetic_batch(config.batch_size, config.batch_length, seed=50)
    before = torch.cuda.get_rng_state()
    graphed.train_step(batch)
    after_replay = torch.cuda.get_rng_state()
    torch.cuda.set_rng_state(before)
    reference.update(reference.batch_to_torch(batch))
    assert not torch.equal(after_replay, before) and torch.equal(after_replay, torch.cuda.get_rng_state())
    # a checkpoint (a copy, as if read from disk) replaces the optimiser states: the agent records again
    graphed.load_checkpoint_state(copy.deepcopy(reference.checkpoint_state()))
    assert graphed.run_update.graph is None
    run(GRAPH_WARMUP_UPDATES + 2, first_seed=100)
    with pytest.raises(ValueError, match="recorded for batch"):
        graphed.train_step(synthetic_batch(config.batch_size // 2, config.batch_length))
