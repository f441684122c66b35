import math

import torch

from dreamer_edu.config import Config
from dreamer_edu.world_model import WorldModel, goal_soon_targets, puck_distance, shot_quality


def hockey_obs(puck_xy=(0.0, 0.0), puck_v=(0.0, 0.0)):
    obs = torch.zeros(18)
    obs[12], obs[13] = puck_xy
    obs[14], obs[15] = puck_v
    return obs


def test_puck_distance_to_opponent_goal():
    assert puck_distance(hockey_obs((4.25, 0.0))) == 0
    assert torch.isclose(puck_distance(hockey_obs((1.25, 4.0))), torch.tensor(5.0))


def test_shot_quality_limits():
    assert shot_quality(hockey_obs((0.0, 0.0), (0.0, 0.0))) == 0            # still puck
    assert torch.isclose(shot_quality(hockey_obs((0.0, 0.0), (30.0, 0.0))), torch.tensor(1.0), atol=1e-5)
    assert shot_quality(hockey_obs((0.0, 0.0), (-30.0, 0.0))) == 0          # flying at our own goal
    # half speed, 60 degrees off the goal direction: 0.5 * cos(60 deg) = 0.25
    v = (12.5 * math.cos(math.pi / 3), 12.5 * math.sin(math.pi / 3))
    assert torch.isclose(shot_quality(hockey_obs((0.0, 0.0), v)), torch.tensor(0.25), atol=1e-4)


def test_goal_soon_targets_by_hand():
    # one sequence of 8 steps: the agent scores at t=5 (last step of its game), a new game starts at t=6
    T = 8
    reward = torch.zeros(1, T)
    reward[0, 5] = 10.0
    is_terminal = torch.zeros(1, T, dtype=torch.bool)
    is_terminal[0, 5] = True
    is_last = is_terminal.clone()
    is_first = torch.zeros(1, T, dtype=torch.bool)
    is_first[0, 0] = is_first[0, 6] = True
    target, valid = goal_soon_targets(reward, is_first, is_last, is_terminal, horizon=3)
    assert target[0].tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    # steps 0, 1 cannot see the goal within 3 steps but the window fits in the sequence; 6, 7 do not fit
    assert valid[0].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]


def test_goal_soon_ignores_opponent_goals_and_time_outs():
    reward = torch.tensor([[0.0, 0.0, -10.0, 0.0]])
    term = torch.tensor([[False, False, True, False]])
    first = torch.tensor([[True, False, False, True]])
    target, _ = goal_soon_targets(reward, first, term, term, horizon=2)
    assert target.sum() == 0


def test_world_model_loss_terms_and_gradients():
    c = Config.quick()
    wm = WorldModel(c)
    B, T = 3, 6
    batch = {"obs": torch.randn(B, T, 18), "action": torch.rand(B, T, 4) * 2 - 1, "reward": torch.randn(B, T),
             "reward_raw": torch.randn(B, T), "is_first": torch.zeros(B, T, dtype=torch.bool),
             "is_last": torch.zeros(B, T, dtype=torch.bool), "is_terminal": torch.zeros(B, T, dtype=torch.bool)}
    batch["is_first"][:, 0] = True
    loss, states, metrics = wm.loss(batch)
    for name in ("world/recon_loss", "world/reward_loss", "world/continue_loss", "world/kl_loss",
                 "world/aux_goal_loss", "world/aux_distance_loss", "world/aux_shot_loss"):
        assert torch.isfinite(metrics[name]), name
    # reward head is zero-initialised: it predicts 0 before training
    assert torch.allclose(wm.reward(states.features()), torch.zeros(B, T), atol=1e-5)
    loss.backward()
    for name, p in [("encoder", next(wm.encoder.parameters())), ("gru", wm.rssm.gru.weight_hh),
                    ("decoder", next(wm.decoder.parameters()))]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
