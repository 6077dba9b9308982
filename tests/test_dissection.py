import math

import pytest
import torch

from dcgan_lib.analysis.dissection import (
    ObjectLocator,
    attribute_rates,
    boxes_to_mask,
    fit_location_regression,
    generate_with_drop,
    location_samples,
    maps_to_drop,
    mask_to_boxes,
    pad_boxes,
    random_maps,
    relative_change,
)
from dcgan_lib.analysis.judges import JUDGE_SPECS, Judge
from dcgan_lib.models import Generator
from dcgan_lib.zoo import pretrained_locator

NAN = float("nan")


def test_boxes_to_mask_marks_cells_whose_centre_is_inside():
    boxes = torch.tensor([[[0.0, 0.0, 16.0, 8.0], [NAN, NAN, NAN, NAN]],
                          [[NAN, NAN, NAN, NAN], [NAN, NAN, NAN, NAN]]])
    mask = boxes_to_mask(boxes, image_size=32, grid=8)       # cells of 4 pixels, centres at 2, 6, ...
    assert mask.shape == (2, 8, 8) and mask.dtype == torch.bool
    assert mask[0, :2, :4].all() and mask[0].sum() == 8
    assert not mask[1].any()


def test_mask_to_boxes_round_trip():
    boxes = torch.tensor([[[8.0, 4.0, 24.0, 16.0], [40.0, 40.0, 56.0, 60.0]]])
    mask = boxes_to_mask(boxes, 64, 16)
    found = mask_to_boxes(mask, 64)[0]
    assert found.shape == (2, 4)
    assert torch.equal(boxes_to_mask(found[None], 64, 16), mask)
    padded = pad_boxes([found, torch.zeros(0, 4)])
    assert padded.shape == (2, 2, 4) and torch.isnan(padded[1]).all()


def test_location_samples_balance_positives_and_negatives():
    features = torch.zeros(3, 5, 4, 4)
    inside = torch.zeros(3, 4, 4, dtype=torch.bool)
    inside[0, :2, :2] = True                                  # 4 positives in image 0, none elsewhere
    features[0, 2][inside[0]] = 1.0                           # map 2 fires inside the box
    X, y = location_samples(features, inside, seed=0)
    assert X.shape == (8, 5) and y.sum() == 4
    assert torch.equal(X[y == 1][:, 2], torch.ones(4)) and torch.equal(X[y == 0][:, 2], torch.zeros(4))
    with pytest.raises(ValueError, match="match"):
        location_samples(features, inside[:, :2])


def test_regression_gives_positive_weight_to_the_map_that_fires_in_boxes():
    g = torch.Generator().manual_seed(0)
    features = torch.rand(40, 6, 8, 8, generator=g)
    inside = torch.zeros(40, 8, 8, dtype=torch.bool)
    inside[:, 2:5, 2:5] = True
    features[:, 1] += 2.0 * inside                            # map 1 is the "window" map
    features[:, 4] -= 1.0 * inside                            # map 4 is suppressed in windows
    X, y = location_samples(features, inside, seed=0)
    model = fit_location_regression(X, y)
    w = torch.tensor(model.coef_[0])
    assert w.argmax() == 1 and w[4] < 0
    assert 1 in maps_to_drop(w).tolist() and 4 not in maps_to_drop(w).tolist()
    assert maps_to_drop(w, threshold=w.max().item() - 1e-9).tolist() == [1]


def test_random_maps_are_distinct_and_can_avoid_some():
    maps = random_maps(64, 10, seed=3, exclude=torch.arange(20))
    assert len(set(maps.tolist())) == 10 and maps.min() >= 20
    assert torch.equal(maps, random_maps(64, 10, seed=3, exclude=torch.arange(20)))
    with pytest.raises(ValueError):
        random_maps(5, 6)


def test_dropping_all_maps_of_the_last_layer_gives_a_constant_image():
    torch.manual_seed(0)
    G = Generator(32, ngf=8).eval()
    z = torch.randn(4, 100)
    images = generate_with_drop(G, z, {2: range(G.feature_channels[2])})
    assert images.shape == (4, 3, 32, 32)
    assert torch.allclose(images, images[:1].expand_as(images))
    assert torch.allclose(generate_with_drop(G, z), generate_with_drop(G, z, {}))


def test_attribute_rates_and_relative_change():
    torch.manual_seed(0)
    judge = Judge(32, 3, JUDGE_SPECS["rooms"]).eval()
    rates = attribute_rates(judge, torch.rand(10, 3, 32, 32) * 2 - 1, ["bed", "window"])
    assert set(rates) == {"bed", "window"} and all(0 <= r <= 1 for r in rates.values())
    assert relative_change(0.4, 0.1) == pytest.approx(-0.75)
    assert math.isnan(relative_change(0.0, 0.1))


def test_locator_shapes_and_cache(tmp_cache):
    locator = ObjectLocator()
    assert locator(torch.zeros(2, 3, 64, 64)).shape == (2, 16, 16)
    first = pretrained_locator("rooms", "window", "ci")
    assert 0 <= first.test_scores.accuracy <= 1
    again = pretrained_locator("rooms", "window", "ci")
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.allclose(first.predict(x), again.predict(x))


def test_hand_drawn_boxes_are_read_as_tensors_only(tmp_path):
    from dcgan_lib.analysis.dissection import load_hand_boxes
    boxes = torch.full((3, 2, 4), float("nan"))
    boxes[:, 0] = torch.tensor([1.0, 2.0, 10.0, 12.0])
    torch.save({"z": torch.randn(3, 100, dtype=torch.float64), "boxes": boxes}, tmp_path / "b.pt")
    z, read = load_hand_boxes(str(tmp_path / "b.pt"))
    assert z.shape == (3, 100) and z.dtype == torch.float32 and torch.equal(read.nan_to_num(-1), boxes.nan_to_num(-1))
