from imgclass.classifiers import REGISTRY
from imgclass.models import shipped_model_path
from imgclass.ready import pretrained, ready_names


def test_ready_classifiers_need_no_fitting() -> None:
    ready = ready_names()
    assert "colour-count" in ready and "bilateral" not in ready
    for name in ready:
        assert name in REGISTRY
        model = pretrained(name)
        fixed_rule = not model.__sklearn_tags__().requires_fit
        assert fixed_rule or shipped_model_path(name) is not None
