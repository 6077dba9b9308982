import math

import pytest
import torch

from dcgan_lib.analysis.latent import (
    along,
    arithmetic,
    concept_vector,
    find_transition,
    interpolate,
    lerp,
    matches,
    neighbours,
    select,
    slerp,
    smooth_fraction,
    spearman,
    step_distances,
    walk,
)


def test_lerp_and_slerp_hit_the_end_points():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(3, 10, generator=g), torch.randn(3, 10, generator=g)
    for method in ("lerp", "slerp"):
        path = interpolate(z0, z1, 7, method)
        assert path.shape == (3, 7, 10)
        assert torch.allclose(path[:, 0], z0, atol=1e-5) and torch.allclose(path[:, -1], z1, atol=1e-5)


def test_lerp_midpoint_is_the_mean():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([2.0, 0.0])
    assert torch.allclose(lerp(z0, z1, torch.tensor([0.5]))[0], torch.tensor([1.0, 1.0]))


def test_slerp_keeps_the_norm_and_follows_the_circle():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = slerp(z0, z1, torch.tensor([0.5]))[0]
    assert torch.allclose(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]), atol=1e-5)
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(100, generator=g), torch.randn(100, generator=g)
    b = b / b.norm() * a.norm()
    norms = slerp(a, b, torch.linspace(0, 1, 11)).norm(dim=-1)
    assert torch.allclose(norms, a.norm().expand(11), rtol=1e-4)
    # lerp of two independent high-dimensional points shrinks the norm in the middle
    assert lerp(a, b, torch.tensor([0.5])).norm() < 0.8 * a.norm()


def test_slerp_of_identical_points_is_constant():
    z = torch.randn(5)
    assert torch.allclose(slerp(z, z, torch.linspace(0, 1, 4)), z.expand(4, 5), atol=1e-5)


def test_interpolate_rejects_bad_arguments():
    z = torch.zeros(4)
    with pytest.raises(ValueError, match="method"):
        interpolate(z, z, 5, "cubic")
    with pytest.raises(ValueError, match="2 steps"):
        interpolate(z, z, 1)


def test_walk_passes_through_every_point():
    points = torch.randn(2, 9, 6)
    path = walk(points, 4, "slerp")
    assert path.shape == (2, 8 * 4 + 1, 6)
    assert torch.allclose(path[:, ::4], points, atol=1e-5)


def test_step_distances_and_smooth_fraction():
    frames = torch.cumsum(torch.ones(2, 11, 3), dim=1)      # equal steps of length sqrt(3)
    steps = step_distances(frames)
    assert steps.shape == (2, 10) and torch.allclose(steps, torch.full((2, 10), math.sqrt(3)))
    assert smooth_fraction(steps) == 1.0
    steps[0, 3] = 100.0                                      # one jump in 20 steps
    assert smooth_fraction(steps, 3.0) == pytest.approx(0.95)


def test_find_transition_finds_the_largest_rise():
    probs = torch.tensor([[0.5, 0.6, 0.5, 0.6], [0.1, 0.1, 0.5, 0.9], [0.9, 0.1, 0.3, 0.7]])
    assert find_transition(probs) == (1, 1, 3)
    assert find_transition(probs.flip(-1)) == (2, 2, 3)   # a disappearance in walk 2 (read backwards)
    assert find_transition(torch.full((2, 5), 0.5)) is None


def test_select_and_matches():
    pred = {"smile": torch.tensor([0.9, 0.9, 0.1, 0.6]), "glasses": torch.tensor([0.05, 0.95, 0.1, 0.1])}
    assert select(pred, {"smile": True, "glasses": False}).tolist() == [0]
    assert select(pred, {"smile": False}).tolist() == [2]
    assert matches(pred, {"smile": True, "glasses": False}).tolist() == [True, False, False, True]


def test_arithmetic_neighbours_and_concepts():
    a, b, c = torch.ones(3, 4), torch.zeros(3, 4), torch.full((3, 4), 2.0)
    y = arithmetic(a, b, c)
    assert torch.equal(y, torch.full((4,), 3.0))
    images = arithmetic(a.view(3, 1, 2, 2), b.view(3, 1, 2, 2), c.view(3, 1, 2, 2))
    assert images.shape == (1, 2, 2)
    grid = neighbours(y, 8, 0.25, seed=0)
    assert grid.shape == (9, 4) and torch.equal(grid[0], y)
    assert (grid[1:] - y).abs().max() <= 0.25 and (grid[1:] != y).all()
    v = concept_vector(c, a)
    assert torch.equal(v, torch.ones(4))
    path = along(torch.zeros(2, 4), v, torch.tensor([-1.0, 0.0, 1.0]))
    assert path.shape == (2, 3, 4) and torch.equal(path[:, 2], torch.ones(2, 4))


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    y[0, 3] = y[0, 5]                                        # a tie
    rho = spearman(x, y)
    for i in range(4):
        assert rho[i].item() == pytest.approx(spearmanr(x[i], y[i]).statistic, abs=1e-6)
    t = torch.arange(7.0)
    assert spearman(t, t ** 3).item() == pytest.approx(1.0)
    assert spearman(t, -t).item() == pytest.approx(-1.0)


def test_linear_separability_tells_a_half_space_from_a_checkerboard():
    from dcgan_lib.analysis.latent import linear_separability
    z = torch.rand(900, 10, generator=torch.Generator().manual_seed(0)) * 2 - 1
    half_space = z[:, 0] + 0.5 * z[:, 1] > 0
    accuracy, majority = linear_separability(z, half_space)
    assert accuracy > 0.95 and 0.5 <= majority < 0.6
    checkerboard = (z[:, 0] > 0) ^ (z[:, 1] > 0)              # balanced, but no half-space predicts it
    accuracy, majority = linear_separability(z, checkerboard)
    assert accuracy < majority + 0.08
    constant = torch.ones(900, dtype=torch.bool)
    assert linear_separability(z, constant) == (1.0, 1.0)
