import torch

from dcgan_lib.analysis.judges import JUDGE_SPECS, Judge
from dcgan_lib.analysis.metrics import frechet_distance, nearest_neighbour_distances


def test_nearest_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(0)
    queries, refs = torch.randn(37, 3, 8, 8, generator=g), torch.randn(50, 3, 8, 8, generator=g)
    dist, idx = nearest_neighbour_distances(queries, refs, batch_size=16)
    full = torch.cdist(queries.flatten(1), refs.flatten(1))
    assert torch.allclose(dist, full.min(1).values, atol=1e-4)
    assert torch.equal(idx, full.argmin(1))


def test_nearest_neighbours_can_exclude_self():
    x = torch.randn(20, 1, 4, 4)
    dist, idx = nearest_neighbour_distances(x, x, batch_size=7, exclude_self=True)
    assert (idx != torch.arange(20)).all() and (dist > 0).all()


def test_frechet_distance_is_small_for_same_distribution_and_large_for_different():
    torch.manual_seed(0)
    judge = Judge(32, 3, JUDGE_SPECS["rooms"]).eval()
    a, b = torch.rand(600, 3, 32, 32) * 2 - 1, torch.rand(600, 3, 32, 32) * 2 - 1
    shifted = (torch.rand(600, 3, 32, 32) * 0.5 + 0.5) * torch.linspace(0, 1, 32)
    same = frechet_distance(a, b, judge)
    different = frechet_distance(a, shifted, judge)
    assert same >= 0 and different > 10 * same
