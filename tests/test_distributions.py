"""Tests of dreamer_edu.distributions against hand-worked numbers and float64 references."""
import math

import pytest
import torch

from dreamer_edu.distributions import (
    ZERO_ENTROPY_STD,
    BoundedNormal,
    TanhNormal,
    TwoHot,
    bounded_log_std,
    categorical_entropy,
    categorical_kl,
    gaussian_entropy_per_dim,
    sample_one_hot,
    symexp,
    symlog,
    unimix_probs,
)

LN11 = math.log(11.0)


# ---------------------------------------------------------------------------------------------- symlog
def test_symlog_values():
    x = torch.tensor([-1000.0, -10.0, -1.0, 0.0, 1.0, 10.0, 1000.0], dtype=torch.float64)
    expected = torch.tensor([-math.log(1001), -LN11, -math.log(2), 0.0, math.log(2), LN11, math.log(1001)],
                            dtype=torch.float64)
    torch.testing.assert_close(symlog(x), expected)
    assert abs(LN11 - 2.398) < 1e-3


def test_symexp_inverts_symlog():
    x = torch.cat([-torch.logspace(-6, 8, 200, dtype=torch.float64), torch.zeros(1, dtype=torch.float64),
                   torch.logspace(-6, 8, 200, dtype=torch.float64)])
    torch.testing.assert_close(symexp(symlog(x)), x, rtol=1e-12, atol=1e-12)
    y = torch.linspace(-20, 20, 101, dtype=torch.float64)
    torch.testing.assert_close(symlog(symexp(y)), y, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- two-hot
def test_twohot_bin_arithmetic():
    th = TwoHot()
    assert th.centers.shape == (255,)
    assert th.spacing == pytest.approx(40 / 254)
    assert round(th.spacing, 4) == 0.1575
    assert th.centers[127].abs().item() < 1e-6            # the middle bin is 0
    assert th.centers[140].item() == pytest.approx(2.047, abs=1e-3)   # not 2.5 as the guide says
    # symlog(10) = 2.398 lies between bins 142 and 143
    assert th.centers[142].item() < LN11 < th.centers[143].item()
    w = th.encode(torch.tensor(10.0, dtype=torch.float64))
    assert set(torch.nonzero(w).flatten().tolist()) == {142, 143}
    c142 = -20 + 142 * 40 / 254
    w143 = (LN11 - c142) / (40 / 254)
    assert w[143].item() == pytest.approx(w143, abs=1e-6)
    assert w[142].item() == pytest.approx(1 - w143, abs=1e-6)
    assert w[142].item() == pytest.approx(0.7735, abs=1e-3)
    # -10 mirrors +10: bins 111 and 112 (the guide's "bin 115 = -10" is wrong too)
    wn = th.encode(torch.tensor(-10.0))
    assert set(torch.nonzero(wn).flatten().tolist()) == {111, 112}


def test_twohot_encode_properties_and_round_trip_float64():
    th = TwoHot().double()
    gen = torch.Generator().manual_seed(0)
    x = symexp(torch.empty(2000, dtype=torch.float64).uniform_(-19.9, 19.9, generator=gen))
    w = th.encode(x)                                                        # (2000, 255)
    assert w.shape == (2000, 255)
    torch.testing.assert_close(w.sum(-1), torch.ones(2000, dtype=torch.float64))
    assert (w >= 0).all()
    nonzero = (w > 0).sum(-1)
    assert (nonzero <= 2).all()
    # the mass sits on the two centres that bracket symlog(x)
    y = symlog(x)
    idx = torch.nonzero(w > 0)
    centers = th.centers[idx[:, 1]]
    assert ((centers - y[idx[:, 0]]).abs() <= th.spacing + 1e-9).all()
    # the weighted mean of the centres is exactly symlog(x), so decoding the target gives x back
    torch.testing.assert_close((w * th.centers).sum(-1), y, rtol=0, atol=1e-12)
    torch.testing.assert_close(th.decode(torch.log(w)), x, rtol=1e-9, atol=1e-9)


def test_twohot_exact_centre_and_edges():
    th = TwoHot()
    w0 = th.encode(torch.zeros(()))
    assert w0[127].item() == pytest.approx(1.0, abs=1e-5)
    big = torch.tensor([1e12, -1e12, symexp(torch.tensor(20.0)).item()])
    w = th.encode(big)
    assert w[0, -1].item() == 1.0 and w[0, :-1].sum().item() == 0.0
    assert w[1, 0].item() == 1.0 and w[1, 1:].sum().item() == 0.0
    assert w[2, -1].item() == pytest.approx(1.0, abs=1e-5)


def test_twohot_decode_uniform_logits_is_zero_and_shapes():
    th = TwoHot()
    out = th.decode(torch.zeros(4, 7, 255))
    assert out.shape == (4, 7)
    assert out.abs().max().item() < 1e-5
    with pytest.raises(ValueError, match="255"):
        th.decode(torch.zeros(4, 254))
    with pytest.raises(ValueError):
        th.loss(torch.zeros(4, 255), torch.zeros(5))
    with pytest.raises(ValueError):
        TwoHot(bins=1)
    with pytest.raises(ValueError):
        TwoHot(low=1.0, high=-1.0)


def test_twohot_loss_is_cross_entropy_per_element():
    th = TwoHot()
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 5, 255, generator=gen, requires_grad=True)
    x = torch.randn(3, 5, generator=gen, dtype=torch.float64) * 30
    x.requires_grad_(True)
    loss = th.loss(logits, x)
    assert loss.shape == (3, 5)
    # manual float64 reference: build the two-hot target independently with a Python loop
    centers = [-20 + i * 40 / 254 for i in range(255)]
    ref = torch.zeros(3, 5, dtype=torch.float64)
    logp = torch.log_softmax(logits.detach().double(), -1)
    for i in range(3):
        for j in range(5):
            y = math.copysign(math.log1p(abs(x[i, j].item())), x[i, j].item())
            y = min(max(y, -20.0), 20.0)
            k = min(int((y + 20) / (40 / 254)), 253)
            wa = (y - centers[k]) / (centers[k + 1] - centers[k])
            ref[i, j] = -((1 - wa) * logp[i, j, k] + wa * logp[i, j, k + 1])
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    loss.sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert x.grad is None                                                   # the target is detached


# ---------------------------------------------------------------------------------------------- categorical
def test_unimix_probs():
    logits = torch.tensor([[100.0, -100.0, 0.0, -50.0]])
    probs = unimix_probs(logits, 0.01)
    torch.testing.assert_close(probs.sum(-1), torch.ones(1))
    assert probs.min().item() >= 0.01 / 4 - 1e-9
    expected = 0.99 * torch.softmax(logits.double(), -1) + 0.01 / 4
    torch.testing.assert_close(probs.double(), expected)
    torch.testing.assert_close(unimix_probs(logits, 0.0), torch.softmax(logits, -1))
    with pytest.raises(ValueError):
        unimix_probs(logits, 1.0)


def test_sample_one_hot_forward_and_straight_through_gradient():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 16, 16, generator=gen, requires_grad=True)
    probs = unimix_probs(logits)
    sample = sample_one_hot(probs, generator=gen)
    assert sample.shape == (8, 16, 16)
    assert set(sample.detach().unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(sample.detach().sum(-1), torch.ones(8, 16))
    weights = torch.randn(8, 16, 16, generator=gen)
    (sample * weights).sum().backward()
    st_grad = logits.grad.clone()
    logits.grad = None
    (unimix_probs(logits) * weights).sum().backward()
    assert st_grad.abs().sum() > 0
    torch.testing.assert_close(st_grad, logits.grad)                       # gradient of probs


def test_sample_one_hot_frequencies_match_probs():
    gen = torch.Generator().manual_seed(3)
    probs = torch.tensor([0.1, 0.0, 0.6, 0.3]).expand(20000, 4)
    counts = sample_one_hot(probs, generator=gen).sum(0) / 20000
    torch.testing.assert_close(counts, torch.tensor([0.1, 0.0, 0.6, 0.3]), atol=0.015, rtol=0)
    assert counts[1].item() == 0.0                                          # a 0-probability class never


def test_categorical_kl_and_entropy_against_float64():
    gen = torch.Generator().manual_seed(4)
    post = unimix_probs(torch.randn(5, 16, 16, generator=gen) * 3)
    prior = unimix_probs(torch.randn(5, 16, 16, generator=gen) * 3)
    kl = categorical_kl(post, prior)
    assert kl.shape == (5,)
    p, q = post.double(), prior.double()
    ref = torch.zeros(5, dtype=torch.float64)
    for b in range(5):
        for l in range(16):
            for k in range(16):
                ref[b] += p[b, l, k] * (math.log(p[b, l, k]) - math.log(q[b, l, k]))
    torch.testing.assert_close(kl.double(), ref, rtol=1e-4, atol=1e-5)
    assert (kl > 0).all()
    assert categorical_kl(post, post).abs().max().item() < 1e-5
    uniform = torch.full((2, 16, 16), 1 / 16)
    torch.testing.assert_close(categorical_entropy(uniform), torch.full((2,), 16 * math.log(16)))
    # KL to the uniform distribution = L ln K - H(p)
    torch.testing.assert_close(categorical_kl(post, uniform[:1].expand(5, 16, 16)),
                               16 * math.log(16) - categorical_entropy(post), rtol=1e-4, atol=1e-4)
    # zero probabilities in the posterior contribute 0, not NaN
    hard = torch.zeros(1, 1, 4)
    hard[..., 2] = 1.0
    assert categorical_kl(hard, torch.full((1, 1, 4), 0.25)).item() == pytest.approx(math.log(4), rel=1e-6)
    with pytest.raises(ValueError):
        categorical_kl(post, prior[:, :8])
    with pytest.raises(ValueError):
        categorical_entropy(torch.ones(4))


# ---------------------------------------------------------------------------------------------- entropy
def test_gaussian_entropy_values_of_design_item_2():
    for log_std, per_dim, four_dims in ((-5.0, -3.58, -14.3), (-2.0, -0.58, -2.3), (-0.5, 0.92, 3.68)):
        assert gaussian_entropy_per_dim(log_std) == pytest.approx(per_dim, abs=0.005)
        dist = TanhNormal(torch.zeros(4), torch.full((4,), log_std))
        assert dist.entropy().item() == pytest.approx(four_dims, abs=0.05)
        reference = torch.distributions.Normal(0.0, math.exp(log_std)).entropy().item() * 4
        assert dist.entropy().item() == pytest.approx(reference, abs=1e-4)
    assert ZERO_ENTROPY_STD == pytest.approx(0.242, abs=5e-4)
    assert gaussian_entropy_per_dim(math.log(ZERO_ENTROPY_STD)) == pytest.approx(0.0, abs=1e-12)
    assert torch.is_tensor(gaussian_entropy_per_dim(torch.zeros(3)))


def _squashed_entropy_quadrature(mean, std):
    """float64 reference: H[u] + E[log(1 - tanh(u)^2)] by numerical integration over u."""
    u = torch.linspace(mean - 12 * std, mean + 12 * std, 200001, dtype=torch.float64)
    density = torch.exp(-0.5 * ((u - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    log_jac = math.log(4) - 2 * u.abs() - 2 * torch.log1p(torch.exp(-2 * u.abs()))
    expectation = torch.trapezoid(density * log_jac, u).item()
    return gaussian_entropy_per_dim(math.log(std)) + expectation


def test_squashed_entropy_is_lower_and_can_be_negative():
    gen = torch.Generator().manual_seed(5)
    sigma = math.exp(-0.5)                                                  # 0.606, the guide's floor
    centred = TanhNormal(torch.zeros(4), torch.full((4,), -0.5))
    saturated = TanhNormal(torch.full((4,), 3.0), torch.full((4,), -0.5))
    h_centred = centred.squashed_entropy(n_samples=20000, generator=gen)
    h_saturated = saturated.squashed_entropy(n_samples=20000, generator=gen)
    assert h_centred.shape == ()
    assert h_centred.item() < centred.entropy().item()
    assert h_saturated.item() < 0 < saturated.entropy().item()
    assert h_centred.item() == pytest.approx(4 * _squashed_entropy_quadrature(0.0, sigma), abs=0.05)
    assert h_saturated.item() == pytest.approx(4 * _squashed_entropy_quadrature(3.0, sigma), abs=0.05)


# ---------------------------------------------------------------------------------------------- TanhNormal
def test_tanh_normal_log_prob_matches_change_of_variables_float64():
    gen = torch.Generator().manual_seed(6)
    mean = torch.randn(64, 4, generator=gen, dtype=torch.float64)
    log_std = torch.rand(64, 4, generator=gen, dtype=torch.float64) * 2.5 - 0.5
    dist = TanhNormal(mean, log_std)
    _, raw = dist.sample(generator=gen)
    raw = raw.clamp(-4, 4)                                                   # atanh(tanh(u)) is exact here
    base = torch.distributions.Normal(mean, log_std.exp())
    reference = torch.distributions.TransformedDistribution(base, [torch.distributions.TanhTransform()])
    expected = reference.log_prob(torch.tanh(raw)).sum(-1)
    torch.testing.assert_close(dist.log_prob(raw), expected, rtol=1e-9, atol=1e-9)


def test_tanh_normal_log_prob_is_stable_for_large_u():
    u = torch.tensor([[-40.0, -12.0, 9.5, 30.0]])                           # float32: tanh(u)^2 rounds to 1
    dist = TanhNormal(torch.zeros(1, 4), torch.zeros(1, 4))
    lp = dist.log_prob(u)
    assert torch.isfinite(lp).all()
    u64 = u.double()
    log_jac = math.log(4) - 2 * u64.abs() - 2 * torch.log1p(torch.exp(-2 * u64.abs()))
    expected = (-0.5 * u64 ** 2 - 0.5 * math.log(2 * math.pi) - log_jac).sum(-1)
    torch.testing.assert_close(lp.double(), expected, rtol=1e-6, atol=1e-3)
    # the guide's epsilon version is badly off here: log(1 - tanh(u)^2 + 1e-6) floors at log(1e-6)
    naive = torch.log(1 - torch.tanh(u) ** 2 + 1e-6)
    assert (naive - log_jac.float()).abs().max().item() > 10


def test_tanh_normal_sampling_mode_and_gradients():
    gen = torch.Generator().manual_seed(7)
    mean = torch.tensor([[0.5, -2.0]], requires_grad=True)
    log_std = torch.tensor([[-0.5, 0.3]], requires_grad=True)
    dist = TanhNormal(mean, log_std)
    action, raw = dist.rsample(generator=gen)
    torch.testing.assert_close(action, torch.tanh(raw))
    assert action.abs().max().item() <= 1.0
    (action.sum() + dist.log_prob(raw.detach()).sum()).backward()
    assert mean.grad.abs().sum() > 0 and log_std.grad.abs().sum() > 0
    action, raw = dist.sample(generator=gen)
    assert not action.requires_grad and not raw.requires_grad
    torch.testing.assert_close(dist.mode(), torch.tanh(mean.detach()))
    torch.testing.assert_close(dist.std, log_std.detach().exp())
    with pytest.raises(ValueError):
        TanhNormal(torch.zeros(3, 4), torch.zeros(2, 4))


def test_bounded_log_std_stays_in_range():
    raw = torch.tensor([-1e4, -10.0, 0.0, 10.0, 1e4])
    out = bounded_log_std(raw, -0.5, 2.0)
    assert out.min().item() >= -0.5 and out.max().item() <= 2.0
    assert out[2].item() == pytest.approx(0.75)
    assert out[0].item() == pytest.approx(-0.5) and out[-1].item() == pytest.approx(2.0)
    assert math.exp(-0.5) == pytest.approx(0.606, abs=1e-3) and math.exp(2.0) == pytest.approx(7.39, abs=1e-2)
    with pytest.raises(ValueError):
        bounded_log_std(raw, 1.0, 1.0)


# ---------------------------------------------------------------------------------------------- BoundedNormal
def test_bounded_normal_std_range_mean_and_clipping():
    std_raw = torch.tensor([[-1e4, -2.0, 0.0, 1e4]])
    mean_raw = torch.tensor([[5.0, -5.0, 0.3, 0.0]])
    dist = BoundedNormal(mean_raw, std_raw)
    assert dist.std.min().item() >= 0.1 - 1e-7 and dist.std.max().item() <= 1.0 + 1e-7
    assert dist.std[0, 0].item() == pytest.approx(0.1)
    assert dist.std[0, 1].item() == pytest.approx(0.55)                      # sigmoid(0) = 0.5
    assert dist.std[0, 2].item() == pytest.approx(0.9 / (1 + math.exp(-2)) + 0.1)
    torch.testing.assert_close(dist.mean, torch.tanh(mean_raw))
    torch.testing.assert_close(dist.mode(), torch.tanh(mean_raw))
    gen = torch.Generator().manual_seed(8)
    action, raw = BoundedNormal(torch.full((1000, 4), 5.0), torch.full((1000, 4), 10.0)).sample(generator=gen)
    assert raw.abs().max().item() > 1.0                                     # the Normal sample leaves [-1, 1]
    assert action.abs().max().item() <= 1.0
    torch.testing.assert_close(action, raw.clamp(-1, 1))
    with pytest.raises(ValueError):
        BoundedNormal(mean_raw, std_raw, min_std=1.0, max_std=0.5)


def test_bounded_normal_log_prob_and_entropy_float64():
    gen = torch.Generator().manual_seed(9)
    mean_raw = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    std_raw = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    dist = BoundedNormal(mean_raw, std_raw)
    _, raw = dist.rsample(generator=gen)
    reference = torch.distributions.Normal(dist.mean, dist.std)
    torch.testing.assert_close(dist.log_prob(raw), reference.log_prob(raw).sum(-1))
    torch.testing.assert_close(dist.entropy(), reference.entropy().sum(-1))


# ---------------------------------------------------------------------------------------------- CUDA
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_everything_runs_on_cuda():
    dev = torch.device("cuda")
    th = TwoHot().to(dev)
    x = torch.randn(4, 5, device=dev) * 10
    logits = torch.randn(4, 5, 255, device=dev)
    assert th.loss(logits, x).device.type == "cuda"
    torch.testing.assert_close(th.decode(torch.log(th.encode(x))), x, rtol=1e-4, atol=1e-4)
    probs = unimix_probs(torch.randn(4, 16, 16, device=dev))
    sample = sample_one_hot(probs)
    assert sample.device.type == "cuda"
    assert categorical_kl(probs, probs).abs().max().item() < 1e-5
    dist = TanhNormal(torch.zeros(4, 4, device=dev), torch.zeros(4, 4, device=dev))
    _, raw = dist.rsample()
    assert dist.log_prob(raw).device.type == "cuda"
    assert dist.squashed_entropy().device.type == "cuda"
    dist = BoundedNormal(torch.zeros(4, 4, device=dev), torch.zeros(4, 4, device=dev))
    assert dist.log_prob(dist.sample()[1]).device.type == "cuda"


# --- two-hot over raw-space bins (DreamerV3 2024, Config.twohot_space="raw") ---------------------------------
def test_raw_twohot_centres_are_symexp_of_the_symlog_grid():
    raw, log = TwoHot(space="raw"), TwoHot()
    grid = torch.linspace(-20.0, 20.0, 255, dtype=torch.float64)
    torch.testing.assert_close(raw.centers.double(), torch.sign(grid) * torch.expm1(grid.abs()), rtol=1e-6, atol=1e-15)
    assert raw.centers[127] == 0.0                                # a reward of exactly 0 sits on one bin
    assert th_weights_on_one_bin(raw, 0.0)


def th_weights_on_one_bin(th, x):
    return int((th.encode(torch.tensor(x)) > 0).sum()) == 1


def test_raw_twohot_predicts_the_mean_where_symlog_pulls_towards_zero():
    """The hand-worked example of DESIGN item 10: half the mass on +10, half on 0."""
    for space, expected in (("raw", 5.0), ("symlog", math.expm1(math.log(11.0) / 2))):   # 2.3166
        th = TwoHot(space=space).double()
        probs = 0.5 * th.encode(torch.tensor(10.0, dtype=torch.float64)) + 0.5 * th.encode(
            torch.tensor(0.0, dtype=torch.float64))
        got = th.decode(torch.log(probs.clamp_min(1e-300)))
        assert abs(float(got) - expected) < 1e-9, (space, float(got))


def test_raw_twohot_encodes_linearly_between_raw_centres():
    th = TwoHot(space="raw").double()
    x = torch.tensor([0.3, -7.0, 10.0, 123.4, 1e12], dtype=torch.float64)
    weights = th.encode(x)                                                     # (5, 255)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, dtype=torch.float64))
    # the weighted mean of the centres is x itself (inside the range), in raw numbers
    torch.testing.assert_close((weights * th.centers).sum(-1)[:4], x[:4], rtol=1e-12, atol=1e-12)
    assert weights[4, -1] == 1.0                                              # beyond symexp(20): the edge bin
    for row, value in zip(weights[:4], x[:4]):                                 # two neighbouring bins only
        hot = row.nonzero().flatten()
        assert len(hot) <= 2 and th.centers[hot[0]] <= value <= th.centers[hot[-1]]


def test_twohot_space_is_checked():
    with pytest.raises(ValueError, match="space must be one of symlog, raw"):
        TwoHot(space="log")
