"""Imagination: the actor dreams ahead with the world model (guide ch. 5).

From every posterior state of the training batch (B*T starts) the actor drives the RSSM's **prior** for H = 15
steps: at each imagined state s_t the actor picks a_t, and the prior predicts s_{t+1} without any observation.
Nothing real happens; the behaviour losses (``actor_critic.py``) then read rewards, continue flags and values of
the imagined states from the world model's heads and the critic.

The world model imagines without gradients and the states are detached, so nothing flows back into it.  The
actor's raw outputs along the way keep their gradient, so log pi(a_t | s_t) for the REINFORCE loss comes from
the very forward pass that chose a_t (no second pass of the actor over the H*N imagined states).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch

from .rssm import RSSM, RSSMState

if TYPE_CHECKING:
    from .actor_critic import Actor


class Imagined(NamedTuple):
    features: torch.Tensor    # (N, H+1, F): s_0 (a real posterior state) ... s_H
    raw_actions: torch.Tensor  # (N, H, A): the sampled action before squashing/clipping
    actions: torch.Tensor      # (N, H, A): the action the model was driven with, in [-1, 1]
    policy_out: torch.Tensor   # (N, H, 2A): the actor's raw output at s_0 ... s_{H-1} (with its gradient)


def imagine(rssm: RSSM, actor: Actor, start: RSSMState, horizon: int) -> Imagined:
    """Roll the actor through the RSSM's prior for ``horizon`` steps from ``start`` (N, ...).

    The RSSM steps run without gradients and the states are detached, so nothing flows back into the world
    model.  The actor's outputs keep their gradient (when gradients are on): ``actor.distribution(
    traj.policy_out)`` is the policy at every imagined state, ready for the REINFORCE loss.
    """
    state = start.detach()
    features = [state.features()]                                      # each (N, F)
    outs, raws, actions = [], [], []
    for _ in range(horizon):
        out = actor.net(features[-1])                                  # (N, 2A)
        action, raw = actor.distribution(out.detach()).sample()        # (N, A) each, no gradient
        with torch.no_grad():
            state = rssm.imagine_step(state, action)
        features.append(state.features())
        outs.append(out)
        raws.append(raw)
        actions.append(action)
    return Imagined(torch.stack(features, 1), torch.stack(raws, 1), torch.stack(actions, 1),
                    torch.stack(outs, 1))
