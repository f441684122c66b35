import numpy as np
import pytest
import torch

from dreamer_edu.config import Config
from dreamer_edu.dreamsmooth import smooth_rewards
from dreamer_edu.experiments import (collect_episodes, episode_batch, fill_buffer, train_world_model)


def small_config(**changes):
    return Config.quick(deter_size=32, hidden_size=32, latent_length=4, latent_classes=4, batch_size=8,
                        batch_length=16, **changes)


def test_collected_episodes_follow_the_buffer_convention_and_are_reproducible():
    a = collect_episodes(3, player="weak", opponent="weak", seed=5)
    b = collect_episodes(3, player="weak", opponent="weak", seed=5)
    for ep, again in zip(a, b):
        steps = len(ep["reward"])
        assert ep["obs"].shape == (steps, 18) and ep["action"].shape == (steps, 4)
        assert ep["is_first"][0] and not ep["is_first"][1:].any()
        assert ep["is_last"][-1] and ep["is_last"].sum() == 1
        assert not ep["action"][0].any() and ep["reward"][0] == 0.0
        # a game ends in a goal (terminal, reward +-10 on the last step) or by time-out after 251 steps
        if ep["is_terminal"][-1]:
            assert ep["winner"] != 0 and abs(ep["reward"][-1]) >= 9.0
        else:
            assert ep["winner"] == 0 and steps - 1 == 251
        np.testing.assert_array_equal(ep["obs"], again["obs"])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="games"):
        collect_episodes(0)
    with pytest.raises(ValueError, match="player must be one of"):
        collect_episodes(1, player="expert")
    with pytest.raises(ValueError, match="updates"):
        train_world_model(small_config(), fill_buffer(collect_episodes(1, player="random")), updates=0)


def test_fill_buffer_smooths_rewards_only_when_asked():
    episodes = collect_episodes(4, player="strong", opponent="weak", seed=1)
    config = small_config()
    smooth = fill_buffer(episodes, config, smooth=True)
    raw = fill_buffer(episodes, config, smooth=False)
    rewards = np.concatenate([ep["reward"] for ep in episodes])
    last = np.concatenate([ep["is_last"] for ep in episodes])
    expected = smooth_rewards(rewards, last, method=config.dreamsmooth_method, alpha=config.dreamsmooth_alpha)
    assert len(smooth) == len(raw) == len(rewards)
    np.testing.assert_allclose(smooth.reward_smooth[:len(rewards)], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(raw.reward_smooth[:len(rewards)], rewards)


def test_world_model_trained_alone_lowers_its_reconstruction_loss():
    episodes = collect_episodes(6, player="weak", opponent="weak", seed=0)
    buffer = fill_buffer(episodes, small_config())
    model, history = train_world_model(small_config(lr_world=3e-3), buffer, updates=120, progress=False)
    assert len(history) == 120 and not model.training
    first = np.mean([h["world/recon_loss"] for h in history[:10]])
    last = np.mean([h["world/recon_loss"] for h in history[-10:]])
    assert last < 0.5 * first, (first, last)
    # a whole episode goes through the trained model as a batch of one
    batch = episode_batch(episodes[0])
    with torch.no_grad():
        loss, states, _ = model.loss(batch)
    assert states.features().shape[:2] == (1, len(episodes[0]["reward"])) and torch.isfinite(loss)
