"""speed.py: the one place that decides which speed setting a device allows, and the pieces it applies."""
import contextlib
import warnings

import pytest
import torch

from dreamer_edu import speed
from dreamer_edu.agent import Dreamer
from dreamer_edu.config import Config, ConfigWarning
from test_agent import synthetic_batch


@pytest.mark.parametrize("changes, device, fragments", [
    (dict(cuda_graphs=True, compile=True), "cuda", ["Config.cuda_graphs", "Config.compile", "not supported together"]),
    (dict(cuda_graphs=True), "cpu", ["Config.cuda_graphs=True", "needs a CUDA GPU", "cpu", "cuda_graphs=false"]),
    (dict(cuda_graphs=True), "meta", ["Config.cuda_graphs=True", "needs a CUDA GPU", "meta", "cuda_graphs=false"]),
    (dict(amp=True), "meta", ["Config.amp=True", "autocast", "cpu and cuda only", "meta", "amp=false"]),
], ids=["graphs+compile", "graphs-on-cpu", "graphs-on-meta", "amp-on-meta"])
def test_each_refusal_is_one_line_naming_the_setting_and_the_reason(changes, device, fragments):
    with pytest.raises(ValueError) as caught:
        speed.check_device_settings(Config.quick(**changes), torch.device(device))
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("changes, device", [
    (dict(), "cpu"), (dict(), "meta"), (dict(amp=True), "cpu"), (dict(compile=True), "cpu"),
    (dict(cuda_graphs=True), "cuda"), (dict(cuda_graphs=True), "cuda:0"), (dict(amp=True, compile=True), "cpu"),
])
def test_what_a_device_allows_passes_without_a_word(changes, device):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        speed.check_device_settings(Config.quick(**changes), torch.device(device))


@pytest.mark.parametrize("capability, warns", [((7, 5), True), ((8, 0), False), ((9, 0), False)])
def test_amp_warns_on_a_gpu_without_bf16_hardware(monkeypatch, capability, warns):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Old GPU")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        speed.check_device_settings(Config.quick(amp=True), torch.device("cuda"))
    messages = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
    if warns:
        assert len(messages) == 1 and "\n" not in messages[0]
        assert "amp=True" in messages[0] and "Old GPU" in messages[0] and "no bf16 hardware" in messages[0]
    else:
        assert not messages
    with warnings.catch_warnings(record=True) as caught:   # fp32 on the same GPU: nothing to say
        warnings.simplefilter("always")
        speed.check_device_settings(Config.quick(), torch.device("cuda"))
    assert not caught


def test_the_agent_is_built_through_the_one_decision(monkeypatch):
    """Dreamer asks check_device_settings, with its own config and device, before anything else is applied."""
    seen = []
    monkeypatch.setattr(speed, "check_device_settings", lambda config, device: seen.append((config, device)))
    config = Config.quick()
    Dreamer(config, device="meta")
    assert seen == [(config, torch.device("meta"))]


def test_precision_is_no_context_without_amp_and_bf16_autocast_with_it():
    assert speed.precision(Config.quick(), torch.device("cpu")) is contextlib.nullcontext
    with speed.precision(Config.quick(amp=True), torch.device("cpu"))():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert torch.is_autocast_cache_enabled()
    # a CUDA graph recording must not cache bf16 weight copies (they would go stale)
    recorded = speed.precision(Config.quick(amp=True, cuda_graphs=True), torch.device("cuda"))
    assert recorded.args == ("cuda",) and recorded.keywords == dict(dtype=torch.bfloat16, cache_enabled=False)
    assert Dreamer(Config.quick()).precision is contextlib.nullcontext


def _adam_after_one_step(capturable_in_file: bool) -> dict:
    """The state dict of an Adam that has stepped once, saved as if by a run with or without capturable."""
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        group["capturable"] = capturable_in_file
    return state


@pytest.mark.parametrize("capturable", [False, True])
@pytest.mark.parametrize("in_file", [False, True])
def test_an_optimiser_keeps_its_capturable_flag_whatever_checkpoint_it_loads(capturable, in_file):
    optimizer = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    speed.keep_capturable(optimizer, capturable)
    saved = _adam_after_one_step(in_file)
    optimizer.load_state_dict(saved)
    assert all(group["capturable"] is capturable for group in optimizer.param_groups)
    assert optimizer.defaults["capturable"] is capturable
    assert all(group["capturable"] is in_file for group in saved["param_groups"])   # the caller's dict is untouched
    # capturable Adam keeps its step counter as a float32 tensor on the parameters' device
    steps = [state["step"] for state in optimizer.state.values()]
    assert steps and all(float(step) == 1.0 for step in steps)
    if capturable:
        assert all(step.dtype == torch.float32 for step in steps)


def test_an_ordinary_agent_drops_the_flag_of_a_cuda_graph_runs_checkpoint():
    trained = Dreamer(Config.quick())
    trained.train_step(synthetic_batch())
    state = trained.checkpoint_state()
    for name in ("world_opt", "actor_opt", "critic_opt"):
        for group in state[name]["param_groups"]:
            group["capturable"] = True                 # what a GPU run with cuda_graphs=true saves
    agent = Dreamer(Config.quick())
    agent.load_checkpoint_state(state)
    assert not any(group["capturable"] for opt in agent.optimizers().values() for group in opt.param_groups)
    agent.train_step(synthetic_batch(seed=1))         # and it goes on training with ordinary Adam steps
    assert agent.updates == 2


def test_loading_optimiser_states_forgets_the_recorded_update():
    """A recording uses the optimiser states' memory: a checkpoint replaces it, so the update is recorded again."""
    agent = Dreamer(Config.quick())
    agent.train_step(synthetic_batch())
    graphed = speed.GraphedUpdate(agent.optimizers().values())   # nothing recorded or allocated until called
    graphed.graph, graphed.warmups = object(), speed.GRAPH_WARMUP_UPDATES   # as after a recording
    agent.load_checkpoint_state(agent.checkpoint_state(), weights_only=True)
    assert graphed.graph is not None                               # weights are copied in place: still valid
    agent.load_checkpoint_state(agent.checkpoint_state())
    assert graphed.graph is None and graphed.warmups == 0


def test_to_device_leaves_a_host_tensor_on_the_host_as_it_is():
    value = torch.arange(6.0).reshape(2, 3)
    moved = speed.to_device(value, torch.device("cpu"))
    assert moved.device.type == "cpu" and torch.equal(moved, value)
    assert speed.to_device(value, torch.device("meta")).device.type == "meta"
