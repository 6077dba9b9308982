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


def test_inception_fid_without_its_weights_is_a_clear_error_or_an_explicit_stand_in(monkeypatch):
    import pytest

    from dcgan_lib.analysis import metrics

    real_fid = metrics.FrechetInceptionDistance

    def offline(feature=2048, **kwargs):
        if isinstance(feature, int):
            raise OSError("<urlopen error [Errno -2] Name or service not known>")
        return real_fid(feature=feature, **kwargs)

    monkeypatch.setattr(metrics, "FrechetInceptionDistance", offline)
    a = torch.rand(20, 3, 32, 32) * 2 - 1
    monkeypatch.delenv("DCGAN_FID_STANDIN", raising=False)
    with pytest.raises(RuntimeError, match="Inception weights.*could not be downloaded.*DCGAN_FID_STANDIN=1"):
        metrics.frechet_distance(a, a)
    monkeypatch.setenv("DCGAN_FID_STANDIN", "1")
    with pytest.warns(UserWarning, match="stand-in features"):
        same, other = metrics.frechet_distance(a, a.clone()), metrics.frechet_distance(a, -a)
    assert abs(same) < 1e-6 < other
