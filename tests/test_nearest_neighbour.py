"""Tests for dcgan_lib.analysis.nearest_neighbour: the streaming 1-NN classifier against scikit-learn's."""
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from dcgan_lib.analysis.nearest_neighbour import (
    StreamingNearestNeighbour,
    balanced_labels,
    generated_test_error,
    nearest_neighbour_error,
    nearest_neighbour_predict,
)


def random_problem(n_ref=700, n_query=150, dim=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    refs, queries = torch.randn(n_ref, dim, generator=g), torch.randn(n_query, dim, generator=g)
    return refs, torch.randint(0, 10, (n_ref,), generator=g), queries, torch.randint(0, 10, (n_query,), generator=g)


@pytest.mark.parametrize("chunk", [1000, 64, 7])
def test_matches_scikit_learn_on_random_data(chunk):
    refs, ref_labels, queries, _ = random_problem()
    sk = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(refs.numpy(), ref_labels.numpy())
    ours = nearest_neighbour_predict(refs, ref_labels, queries, chunk=chunk)
    assert torch.equal(ours, torch.as_tensor(sk.predict(queries.numpy())))


def test_image_shaped_inputs_and_query_batches():
    refs, ref_labels, queries, query_labels = random_problem(dim=2 * 4 * 4)
    knn = StreamingNearestNeighbour(queries.view(-1, 2, 4, 4), query_batch=16)
    knn.add(refs.view(-1, 2, 4, 4), ref_labels)
    assert torch.equal(knn.predictions(), nearest_neighbour_predict(refs, ref_labels, queries))
    assert knn.n_references == len(refs)
    assert knn.error(query_labels) == nearest_neighbour_error(refs, ref_labels, queries, query_labels)


def test_a_copy_of_the_queries_gives_zero_error():
    refs, ref_labels, queries, query_labels = random_problem()
    mixed, labels = torch.cat([refs, queries]), torch.cat([ref_labels, query_labels])
    assert nearest_neighbour_error(mixed, labels, queries, query_labels, chunk=100) == 0.0


def test_ties_go_to_the_earliest_reference():
    queries = torch.zeros(1, 3)
    refs = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    assert nearest_neighbour_predict(refs, torch.tensor([4, 5, 6]), queries, chunk=1).item() == 4


def test_mismatched_inputs_are_explained():
    knn = StreamingNearestNeighbour(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="same size"):
        knn.add(torch.zeros(3, 6), torch.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        knn.add(torch.zeros(3, 5), torch.zeros(2))
    with pytest.raises(RuntimeError, match="add"):
        knn.predictions()


def test_balanced_labels():
    labels = torch.cat([balanced_labels(25), balanced_labels(15, offset=25)])
    assert torch.equal(labels, torch.arange(40) % 10)


def test_generated_test_error_is_the_error_on_prefixes_of_one_stream():
    refs, _, queries, query_labels = random_problem(n_ref=600)
    calls = []

    def sample(labels, seed):  # a "generator": reference number seed+i, whatever its label
        calls.append(len(labels))
        return refs[seed:seed + len(labels)]

    errors = generated_test_error(sample, queries, query_labels, sizes=[600, 200], chunk=150)
    assert list(errors) == [200, 600] and sum(calls) == 600 and max(calls) <= 150
    labels = balanced_labels(600)
    for n, error in errors.items():
        assert error == nearest_neighbour_error(refs[:n], labels[:n], queries, query_labels)
