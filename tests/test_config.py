import math
import warnings

import pytest

from dreamer_edu.config import Config, ConfigWarning, ZERO_ENTROPY_LOG_STD


def test_defaults_are_the_guides():
    c = Config()
    assert (c.entropy_scale, c.discount, c.lambda_) == (3e-4, 0.997, 0.95)
    assert (c.lr_world, c.lr_actor, c.lr_critic) == (3e-4, 1e-4, 1e-4)
    assert (c.deter_size, c.latent_length, c.latent_classes, c.unimix) == (256, 16, 16, 0.01)
    assert (c.horizon, c.batch_size, c.batch_length) == (15, 32, 32)
    assert (c.warmup_episodes, c.buffer_capacity, c.free_nats, c.slow_critic_decay) == (100, 250_000, 1.0, 0.98)
    assert (c.log_std_min, c.log_std_max, c.grad_clip) == (-0.5, 2.0, 100.0)
    assert c.use_dreamsmooth and c.dreamsmooth_alpha == 0.5
    assert c.feature_size == 512
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.validate()  # the defaults raise no warning


def test_replay_ratio_both_readings():
    c = Config()
    assert c.updates_per_env_step == pytest.approx(32 / 1024)


def test_zero_entropy_log_std():
    assert ZERO_ENTROPY_LOG_STD == pytest.approx(-0.5 * math.log(2 * math.pi * math.e))
    assert math.exp(ZERO_ENTROPY_LOG_STD) == pytest.approx(0.242, abs=1e-3)


@pytest.mark.parametrize("changes, fragment", [
    (dict(discount=1.5), "discount"),
    (dict(lambda_=-0.1), "lambda_"),
    (dict(log_std_min=2.0, log_std_max=1.0), "log_std_min"),
    (dict(batch_size=0), "batch_size"),
    (dict(unimix=1.0), "unimix"),
    (dict(lr_world=float("nan")), "lr_world"),
    (dict(actor_dist="gauss"), "tanh_normal"),
    (dict(mode="HARD"), "NORMAL"),
    (dict(buffer_capacity=8, batch_length=16), "buffer_capacity"),
    (dict(twohot_space="log"), "twohot_space = 'log' is not one of symlog, raw"),
    (dict(replay_critic_scale=-0.3), "replay_critic_scale must be finite and >= 0"),
    (dict(reward_closeness_scale=float("inf")), "reward_closeness_scale must be finite"),
])
def test_validate_refuses_impossible_values(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        Config().replace(**changes).validate()


@pytest.mark.parametrize("changes, fragment", [
    (dict(lr_actor=5e-4), "lr_actor"),
    (dict(log_std_min=-2.0), "negative"),
    (dict(replay_ratio=4.0), "replay_ratio"),
])
def test_validate_warns_for_the_guides_pitfalls(changes, fragment):
    with pytest.warns(ConfigWarning, match=fragment):
        Config().replace(**changes).validate()


def test_log_std_floor_just_above_zero_entropy_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Config(log_std_min=-1.4).validate()


def test_overrides_convert_types_and_reject_unknown_keys():
    c = Config().with_overrides(["horizon=10", "lr_actor=5e-5", "use_aux_heads=false", "mode=TRAIN_SHOOTING"])
    assert c.horizon == 10 and isinstance(c.horizon, int)
    assert c.lr_actor == 5e-5 and c.use_aux_heads is False and c.mode == "TRAIN_SHOOTING"
    with pytest.raises(ValueError, match="unknown config key"):
        Config().with_overrides(["horizn=3"])
    with pytest.raises(ValueError, match="key=value"):
        Config().with_overrides(["horizon"])
    with pytest.raises(ValueError, match="integer"):
        Config().with_overrides(["horizon=2.5"])


def test_dict_round_trip_and_quick_is_valid():
    c = Config.quick()
    assert Config.from_dict(c.to_dict()) == c
    c.validate()
    assert c.hidden_size < Config().hidden_size


def test_thread_policy_default_is_one_thread_and_set_threads_refuses_bad_counts():
    import torch

    from dreamer_edu.agent import set_threads

    assert Config().threads == 1 and Config.quick().threads == 1
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 == torch.get_num_threads()
        assert set_threads(0) == 1                      # 0 leaves torch's setting as it is
        with pytest.raises(ValueError, match="threads"):
            set_threads(-1)
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads"):
        Config(threads=-2).validate()


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu"])
def test_unknown_devices_are_named(name):
    from dreamer_edu.agent import DeviceError, resolve_device

    with pytest.raises(DeviceError, match=name.split(":")[0]):
        resolve_device(name)


def test_curriculum_stages_and_the_mode_at_each_env_step():
    c = Config(curriculum="TRAIN_SHOOTING:100, TRAIN_DEFENSE:50,NORMAL").validate()
    assert c.curriculum_stages() == [("TRAIN_SHOOTING", 100), ("TRAIN_DEFENSE", 50), ("NORMAL", None)]
    assert [c.mode_at(s) for s in (0, 99, 100, 149, 150, 10**9)] == \
        ["TRAIN_SHOOTING", "TRAIN_SHOOTING", "TRAIN_DEFENSE", "TRAIN_DEFENSE", "NORMAL", "NORMAL"]
    plain = Config(mode="TRAIN_DEFENSE")
    assert plain.curriculum_stages() == [("TRAIN_DEFENSE", None)] and plain.mode_at(12345) == "TRAIN_DEFENSE"
    assert Config(curriculum="TRAIN_SHOOTING:10,NORMAL:5").curriculum_stages()[-1] == ("NORMAL", None)


@pytest.mark.parametrize("bad, words", [("SHOOTING:100,NORMAL", "unknown mode 'SHOOTING'"),
                                        ("TRAIN_SHOOTING,NORMAL", "needs a length"),
                                        ("TRAIN_SHOOTING:-5,NORMAL", "positive whole number"),
                                        ("TRAIN_SHOOTING:lots,NORMAL", "positive whole number")])
def test_bad_curricula_are_refused_naming_the_stage(bad, words):
    with pytest.raises(ValueError, match=words):
        Config(curriculum=bad).validate()


def test_opponent_mixtures_parse_into_names_and_probabilities():
    assert Config().opponent_mixture() == [("weak", 1.0)] and Config().eval_opponents == ["weak"]
    mix = Config(opponent="weak:0.25, strong:0.75")
    assert mix.opponent_mixture() == [("weak", 0.25), ("strong", 0.75)]
    assert mix.eval_opponents == ["weak", "strong"]
    assert Config(opponent="strong:1").opponent_mixture() == [("strong", 1.0)]
    mix.validate()


@pytest.mark.parametrize("opponent, words", [
    ("medium", "'medium' is not one of weak, strong, none"),
    ("weak:0.5,medium:0.5", "unknown opponent 'medium'"),
    ("weak:0.5,strong:0.4", "sum to 0.9, not 1"),
    ("weak:0.5,strong", "'strong' in 'weak:0.5,strong' needs a probability > 0"),
    ("weak:half,strong:0.5", "needs a probability > 0"),
    ("weak:-0.5,strong:1.5", "needs a probability > 0"),
    ("weak:0.5,weak:0.5", "'weak' appears twice"),
    ("", "'' is not one of"),
])
def test_bad_opponent_mixtures_are_one_line_naming_the_value(opponent, words):
    with pytest.raises(ValueError, match=words) as err:
        Config(opponent=opponent).validate()
    assert "\n" not in str(err.value)
