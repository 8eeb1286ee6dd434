import numpy as np
import pytest

from imgclass.exploration.domain_shift import domain_folds, domain_score, variant_model


def test_a_held_out_domain_takes_its_content_groups_out_of_training() -> None:
    domains = np.array(["a", "a", "b", "b", "c"])
    groups = np.array(["g1", "g2", "g1", "g3", "g4"])  # g1: an image in domain a and its derived copy in b
    folds = {name: (train, test) for name, train, test in domain_folds(domains, groups)}
    assert list(folds) == ["a", "b", "c"]
    train, test = folds["a"]
    assert test.tolist() == [True, True, False, False, False]
    assert train.tolist() == [False, False, False, True, True]  # index 2 shares g1 with the test domain
    for train, test in folds.values():
        assert not (train & test).any()
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(ValueError, match="two domains"):
        domain_folds(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="groups"):
        domain_folds(["a", "b"], ["x"])


def test_scores_and_variants() -> None:
    assert domain_score(np.array([1, 1, 1, 1]), np.array([0.9, 0.8, 0.2, 0.6])) == 0.75  # one class: accuracy
    assert domain_score(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.6, 0.9])) == 0.75  # balanced accuracy
    assert variant_model("embedding")[1].start == variant_model("fast")[1].stop
    with pytest.raises(ValueError, match="unknown variant"):
        variant_model("nope")
