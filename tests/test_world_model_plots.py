"""Figures of the world-model notebooks (dreamer_edu.viz.world_model_plots)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dreamer_edu.viz import world_model_plots as wp  # noqa: E402


def _lines(fig):
    return [line for ax in fig.axes for line in ax.get_lines()]


def test_moving_average_against_direct_means():
    x = np.arange(10, dtype=float) ** 2
    got = wp.moving_average(x, 3)
    want = [np.mean(x[max(0, i - 2):i + 1]) for i in range(10)]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(wp.moving_average(x, 1), x)
    with pytest.raises(ValueError):
        wp.moving_average(x, 0)


def test_obs_labels_cover_the_observation():
    assert len(wp.OBS_LABELS) == 18
    assert wp.OBS_LABELS[12].startswith("puck x") and wp.OBS_LABELS[17].startswith("player 2 keep")


def test_loss_curves(tmp_path):
    history = [{"world/recon_loss": 10.0 / (i + 1), "world/reward_loss": 1.0, "world/continue_loss": 0.5,
                "world/kl_dynamics": 2.0, "world/kl_loss": 1.2} for i in range(30)]
    fig = wp.plot_loss_curves(history, free_nats=1.0, path=tmp_path / "loss.png", window=5)
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert len(fig.axes) == 4
    raw = fig.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(raw, [10.0 / (i + 1) for i in range(30)])


def test_reconstruction_and_open_loop(tmp_path):
    truth = np.random.default_rng(0).normal(size=(40, 18))
    fig = wp.plot_reconstruction(truth, torch.as_tensor(truth + 0.1), path=tmp_path / "rec.png")
    assert len(fig.axes) == 18 and (tmp_path / "rec.png").exists()
    assert fig.axes[0].get_title().startswith("[0] player 1 x")
    # column-wise layout: the first axis of the second column is entry 6 (player 2 x)
    titles = [ax.get_title() for ax in fig.axes]
    assert "[6] player 2 x (m)" in titles
    samples = np.stack([truth + s for s in range(3)])
    fig = wp.plot_open_loop(truth, samples, context=10, dims=(12, 13), path=tmp_path / "ol.png")
    assert len(_lines(fig)) == 2 * (3 + 1)
    np.testing.assert_allclose(fig.axes[0].get_lines()[-1].get_ydata(), truth[:, 12])


def test_error_by_horizon_and_paths(tmp_path):
    result = {"steps": np.arange(1, 6), "model": np.linspace(0.1, 1, 5), "stays": np.linspace(0.2, 2, 5),
              "constant velocity": np.linspace(0.05, 3, 5), "posterior": 0.05, "starts": 12}
    fig = wp.plot_error_by_horizon(result, threshold=0.5, mark=3, path=tmp_path / "err.png")
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), result["model"])
    assert "12 starts" in fig.axes[0].get_title()
    truth = np.zeros((20, 18))
    samples = np.random.default_rng(1).normal(size=(4, 20, 18))
    fig = wp.plot_imagined_paths(truth, samples, context=5, path=tmp_path / "paths.png")
    assert (tmp_path / "paths.png").exists()
    drawn = [line for line in fig.axes[0].get_lines() if line.get_label() == "imagined samples"]
    np.testing.assert_allclose(drawn[0].get_xdata(), samples[0, 4:, 12])


def test_unimix_plot(tmp_path):
    plain = np.array([0.97, 0.01, 0.01, 0.01])
    fig = wp.plot_unimix(plain, 0.99 * plain + 0.0025, 0.01, path=tmp_path / "u.png")
    assert fig.axes[0].get_yscale() == "log"
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("0.0025" in t for t in texts)
