"""The claims notebook 09 (ablations) makes in its prose, asserted on the published results it loads and against
independent computations (simulated evaluations, the Wilson and t formulas written out here)."""
import math

import numpy as np
import pytest

pytest.importorskip("yaml")
from dreamer_edu.sweep import (STATISTICS, compare_to_baseline, load_published, seed_values,  # noqa: E402
                               t_interval, t_quantile_975)
from dreamer_edu.viz import exercises  # noqa: E402


@pytest.fixture(scope="module")
def ablation():
    return load_published("ablation_drill")


def test_section_1_what_was_run(ablation):
    """Config.quick() in the shooting drill vs the standing keeper; every variant changes one choice; at least
    three seeds each, every trial trained its whole budget, 50 greedy games per evaluation."""
    sweep, df = ablation
    assert sweep.quick and sweep.config == {"mode": "TRAIN_SHOOTING", "opponent": "none"}
    assert sweep.variants["baseline"] == {} and all(len(v) == 1 for k, v in sweep.variants.items() if k != "baseline")
    for name in ("no_dreamsmooth", "smooth_gaussian", "bounded_normal", "online_critic", "twohot_raw",
                 "replay_critic", "no_aux_heads", "ratio32", "ratio128"):
        assert name in sweep.variants
    per_variant = df.groupby("variant").seed.nunique()
    assert set(per_variant.index) == set(sweep.variants) and per_variant.min() >= 3
    last = df.sort_values("env_steps").groupby(["variant", "seed"]).env_steps.last()
    assert (last >= sweep.env_steps).all()                      # no trial was cut short
    assert (df.games == sweep.games).all() and sweep.games == 50 and sweep.every == 1000


def test_section_2_best_is_flattering_even_when_nothing_is_learned():
    """The best of ten 50-game evaluations of a policy whose true win rate never moves from 20% lies well
    above 20% on average (simulated), while their mean does not."""
    rng = np.random.default_rng(0)
    evaluations = rng.binomial(50, 0.2, size=(20_000, 10)) / 50          # (runs, evaluations)
    assert evaluations.max(axis=1).mean() > 0.27
    assert abs(evaluations.mean(axis=1).mean() - 0.2) < 0.002


def test_section_4_one_evaluation_is_noisy_and_three_seeds_pay_for_their_unknown_spread(ablation):
    sweep, df = ablation
    baseline = df[(df.variant == "baseline") & (df.opponent == sweep.opponents[0])]
    p, n, z = float(baseline.win_rate.median()), sweep.games, 1.959964
    # the Wilson interval written out: half width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert 0.05 <= p <= 0.6 and 2 * half > 0.18                        # "within +-9 points or more"
    assert t_quantile_975(2) == pytest.approx(4.303) and t_quantile_975(2) / z > 2.1


def test_the_seeds_of_one_variant_differ_about_as_much_as_the_variants_do(ablation):
    """What the ablation shows, first bullet: the spread between the seeds of one variant is of the same size as
    the spread between the variants' means (so one seed per variant could rank them almost at random)."""
    sweep, df = ablation
    opponent = sweep.opponents[0]
    per_seed = {v: seed_values(df, v, opponent, "mean") for v in sweep.variants}
    within = np.median([values.std(ddof=1) for values in per_seed.values()])
    between = np.std([values.mean() for values in per_seed.values()], ddof=1)
    assert 0.5 < within / between < 2


def test_section_5_what_the_comparison_shows(ablation):
    sweep, df = ablation
    comparison = compare_to_baseline(sweep, df, statistic="mean").set_index("variant")
    assert len(comparison) == len(sweep.variants) - 1 == 11
    # one variant's interval excludes 0: replay ratio 128, above the baseline
    assert list(comparison.index[comparison.excludes_zero]) == ["ratio128"]
    assert comparison.loc["ratio128", "low"] > 0
    assert 1 - 0.95 ** 11 == pytest.approx(0.43, abs=0.005)          # one such interval by luck: not rare
    # the official DreamerV3's choices cannot be told from the guide's, in either direction
    for name in ("bounded_normal", "online_critic", "twohot_raw", "replay_critic"):
        assert comparison.loc[name, "low"] < 0 < comparison.loc[name, "high"], name
    # about ten seeds per variant for +-5 points
    assert 6 <= comparison.seeds_for_5_points.median() <= 15
    # the explorer's summaries: final's intervals are the widest on average, mean's the narrowest
    widths = {s: compare_to_baseline(sweep, df, statistic=s).eval("high - low").mean() for s in STATISTICS}
    assert widths["mean"] < widths["best"] < widths["final"]
    # the summaries that average less are noisier: mean's intervals are the narrowest on average
    widths = {s: (compare_to_baseline(sweep, df, statistic=s).eval("high - low")).mean() for s in ("final", "mean")}
    assert widths["mean"] < widths["final"]


def test_the_exercises_accept_the_right_answers_and_refuse_wrong_ones(capsys):
    assert exercises.check_answer_t_half_width(4.303 * 0.06 / math.sqrt(3)) is True
    assert exercises.check_answer_t_half_width(1.96 * 0.06 / math.sqrt(3)) is False      # the normal quantile
    assert exercises.check_answer_seeds_for_5_points(31) is True
    assert exercises.check_answer_seeds_for_5_points(8) is False

    def population_sd_interval(values):                  # a classic slip: dividing by n, not n - 1
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        half = t_quantile_975(len(values) - 1) * sd / math.sqrt(len(values))
        return mean, mean - half, mean + half

    assert exercises.check_function(t_interval, t_interval, exercises.seed_results_inputs) is True
    assert exercises.check_function(population_sd_interval, t_interval, exercises.seed_results_inputs) is False
    capsys.readouterr()


def test_the_readmes_ablation_table_is_the_published_results(ablation):
    """README, "Which of the guide's tricks matter?": each row's mean and final win rate and its difference to
    the baseline are the published ones, and the numbers of the paragraph below it too."""
    import re
    from pathlib import Path

    from dreamer_edu.sweep import summarize

    sweep, df = ablation
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = summarize(sweep, df).set_index("variant")
    comparison = compare_to_baseline(sweep, df, statistic="mean").set_index("variant")
    for variant in sweep.variants:
        row = re.search(rf"^\| {variant} \| .*$", readme, flags=re.M)
        assert row, variant
        cells = [cell.strip() for cell in row.group(0).strip("|").split("|")]
        r = table.loc[variant]
        assert cells[2] == f"{100 * r.mean_win:.1f}% [{100 * r.mean_win_low:.1f}, {100 * r.mean_win_high:.1f}]"
        assert cells[3] == f"{100 * r.final_win:.1f}%"
        if variant != "baseline":
            c = comparison.loc[variant]
            assert cells[4].startswith(f"{100 * c.difference:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]")
            assert ("excludes 0" in cells[4]) == bool(c.excludes_zero)
    per_seed = {v: seed_values(df, v, sweep.opponents[0], "mean") for v in sweep.variants}
    within = np.median([values.std(ddof=1) for values in per_seed.values()])
    between = np.std([values.mean() for values in per_seed.values()], ddof=1)
    assert f"deviations of {100 * within:.1f} and {100 * between:.1f} points" in readme
