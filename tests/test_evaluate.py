import math

import pytest

from dreamer_edu.evaluate import Outcome, wilson_interval


def test_wilson_interval_matches_the_formula_by_hand():
    # 50 of 100: p = 0.5, z = 1.96: centre 0.5, half-width 1.96*sqrt(0.25/100 + 1.96^2/40000)/(1 + 1.96^2/100)
    z = 1.959964
    half = z * math.sqrt(0.0025 + z * z / 40000) / (1 + z * z / 100)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.5 - half) and hi == pytest.approx(0.5 + half)
    assert lo == pytest.approx(0.4038, abs=1e-3)


def test_wilson_interval_edges_stay_in_unit_interval():
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.1 < hi < 0.2
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and 0.8 < lo < 0.9
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_outcome_rates_and_summary():
    o = Outcome(wins=7, draws=2, losses=1, mean_return=1.0, mean_length=100)
    assert o.games == 10 and o.win_rate == 0.7 and o.draw_rate == 0.2 and o.loss_rate == 0.1
    assert "win  70.0%" in o.summary() and "Wilson" in o.summary()
