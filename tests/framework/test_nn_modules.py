"""The framework's nn.Module machinery against torch.nn: registration, traversal, modes, state dicts,
printing, containers, and the argument checks of nn.functional (the maths is ex08's, tested there)."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import minitorch_dg as mt
from minitorch_dg import nn
from tests.support.compare import assert_close

F = nn.functional


class Net(nn.Module):
    def __init__(self, lib: object) -> None:
        super().__init__()
        self.features = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Dropout(0.1))
        self.head = lib.Linear(8, 3, bias=False)
        self.scale = lib.Parameter(mt.ones(3) if lib is nn else torch.ones(3))
        self.register_buffer("steps", mt.zeros(1, dtype=mt.int64) if lib is nn else torch.zeros(1, dtype=torch.int64))
        self.register_buffer("cache", mt.zeros(2) if lib is nn else torch.zeros(2), persistent=False)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.head(self.features(x)) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1))
        self.head = torch.nn.Linear(8, 3, bias=False)
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.register_buffer("steps", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def test_registration_and_traversal_match_torch() -> None:
    mine, theirs = Net(nn), TorchNet()
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in mine.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in mine.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in mine.parameters())
    assert len(list(mine.modules())) == len(list(theirs.modules())) == 6


def test_printed_tree_matches_torch() -> None:
    pairs = [
        (Net(nn), TorchNet()),
        (nn.Linear(3, 4, bias=False), torch.nn.Linear(3, 4, bias=False)),
        (nn.Sequential(nn.Flatten(), nn.Linear(2, 2), nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(dim=0),
                       nn.Identity(), nn.MSELoss(), nn.NLLLoss(), nn.CrossEntropyLoss(reduction="sum")),
         torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Tanh(),
                             torch.nn.Softmax(dim=1), torch.nn.LogSoftmax(dim=0), torch.nn.Identity(), torch.nn.MSELoss(),
                             torch.nn.NLLLoss(), torch.nn.CrossEntropyLoss(reduction="sum"))),
        (nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(1, 2), nn.ReLU()]),
         torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.Linear(1, 2), torch.nn.ReLU()])),
        (nn.ModuleDict({"a": nn.Dropout(0.3), "b": nn.Sequential(nn.ReLU())}),
         torch.nn.ModuleDict({"a": torch.nn.Dropout(0.3), "b": torch.nn.Sequential(torch.nn.ReLU())})),
    ]
    for mine, theirs in pairs:
        assert repr(mine) == repr(theirs).replace("TorchNet(", "Net(")


def test_parameter_repr_and_sharing() -> None:
    t = mt.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    with mt.no_grad():
        p.mul_(3.0)
    assert t.tolist() == [3.0, 6.0], "Parameter(t) shares t's storage, as in torch"


def test_shared_parameters_are_listed_once() -> None:
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_train_and_eval_reach_every_descendant() -> None:
    model = Net(nn)
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train("no")  # type: ignore[arg-type]


def test_zero_grad_to_none_and_to_zero() -> None:
    model = nn.Linear(3, 2)
    model(mt.ones(4, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.to_numpy().any() for p in model.parameters())
    model(mt.ones(4, 3)).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_assignment_rules() -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Parameter"):
        model.weight = mt.zeros(2, 2)  # a plain tensor cannot replace a parameter
    model.bias = None
    assert model.bias is None and "bias" not in model.state_dict()

    class Early(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(mt.ones(1))
            super().__init__()

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="contain"):
        nn.Module().register_buffer("a.b", mt.zeros(1))
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(mt.zeros(1))


def test_state_dict_shares_storage_and_is_detached() -> None:
    model = nn.Linear(2, 3)
    state = model.state_dict()
    assert not state["weight"].requires_grad
    with mt.no_grad():
        model.weight.fill_(1.5)
    assert np.all(state["weight"].to_numpy() == 1.5), "state_dict() tensors share storage with the parameters"


def test_load_state_dict_round_trip() -> None:
    mt.manual_seed(0)
    source, target = Net(nn), Net(nn)
    with mt.no_grad():
        source.steps.fill_(7)
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        assert a.dtype is b.dtype and np.array_equal(a.to_numpy(), b.to_numpy()), name
    assert target.steps.dtype is mt.int64 and target.steps.tolist() == [7]
    x = mt.randn(5, 4)
    source.eval(), target.eval()
    assert np.array_equal(source(x).detach().to_numpy(), target(x).detach().to_numpy())


def test_load_state_dict_from_torch() -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    mine = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    mine.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    assert_close(mine(mt.tensor(x)), theirs(torch.tensor(x)), what="Sequential with torch's weights", dtype="float32")


def test_strict_loading_names_every_problem_like_torch() -> None:
    mine, theirs = nn.Linear(2, 3), torch.nn.Linear(2, 3)
    bad_mine = {"weight": mt.ones(3, 4), "foo": mt.ones(1)}
    bad_theirs = {"weight": torch.ones(3, 4), "foo": torch.ones(1)}
    with pytest.raises(RuntimeError) as mine_error:
        mine.load_state_dict(bad_mine)
    with pytest.raises(RuntimeError) as theirs_error:
        theirs.load_state_dict(bad_theirs)
    assert str(mine_error.value) == str(theirs_error.value).replace("torch.Size", "Size")


def test_non_strict_loading_reports_keys_but_still_refuses_shape_mismatches() -> None:
    model = nn.Linear(2, 3)
    result = model.load_state_dict({"weight": mt.ones(3, 2), "extra": mt.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert np.all(model.weight.detach().to_numpy() == 1.0)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        model.load_state_dict({"weight": mt.ones(2, 2)}, strict=False)


def test_to_dtype_keeps_parameter_identity() -> None:
    model = Net(nn)
    weight = model.head.weight
    model.double()
    assert model.head.weight is weight and weight.dtype is mt.float64
    assert model.steps.dtype is mt.int64, "integer buffers keep their dtype, as in torch"
    assert model(mt.ones(2, 4, dtype=mt.float64)).dtype is mt.float64
    with pytest.raises(TypeError, match="floating point"):
        model.to(mt.int64)


def test_deepcopy_gives_independent_parameters() -> None:
    model = nn.Linear(2, 2)
    clone = copy.deepcopy(model)
    with mt.no_grad():
        clone.weight.fill_(0.0)
    assert model.weight.detach().to_numpy().any()
    assert isinstance(clone.weight, nn.Parameter) and clone.weight.requires_grad


def test_sequential_and_list_containers() -> None:
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    assert tuple(seq(mt.ones(5, 2)).shape) == (5, 1)
    with pytest.raises(IndexError):
        seq[4]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    holder = nn.Module()
    holder.layers = layers
    assert len(list(holder.parameters())) == 6
    table = nn.ModuleDict({"a": nn.Linear(1, 1)})
    assert "a" in table and list(table.keys()) == ["a"]


def test_apply_and_get_submodule() -> None:
    model = Net(nn)
    seen: list[str] = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Dropout", "Sequential", "Linear", "Net"]
    assert model.get_submodule("features.0") is model.features[0]


# ---------------------------------------------------------------------------------------------------
# nn.functional: its own argument checks (before ex08's maths runs)
# ---------------------------------------------------------------------------------------------------


def test_reduction_must_be_known() -> None:
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(mt.ones(2), mt.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="total")


def test_class_targets_are_checked() -> None:
    logits = mt.zeros(3, 4)
    with pytest.raises(RuntimeError, match="class-index targets"):
        F.cross_entropy(logits, mt.zeros(3))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(logits, mt.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(logits, mt.tensor([0, -100, 1]))
    with pytest.raises(RuntimeError, match="target of shape"):
        F.cross_entropy(logits, mt.tensor([0, 1]))


def test_mse_loss_warns_about_broadcasting_like_torch() -> None:
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(mt.ones(3, 1), mt.ones(3))


def test_linear_shape_and_dtype_errors() -> None:
    layer = nn.Linear(4, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(5x3 and 4x2\)"):
        layer(mt.ones(5, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        layer(mt.ones(5, 4, dtype=mt.float64))


def test_dropout_probability_is_checked() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(mt.ones(2), 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)


def test_softmax_without_dim_warns_and_picks_torchs_dim() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = F.softmax(mt.tensor(x))
    assert any("Implicit dimension" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.nn.functional.softmax(torch.tensor(x))
    assert_close(got, want, what="softmax without dim", dtype="float32")


def test_logsumexp_over_several_dims_and_0d() -> None:
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    for dims, keepdim in [((0, 2), False), ((1, 2), True), ((-1, 0), True)]:
        got = mt.tensor(x).logsumexp(dims, keepdim=keepdim)
        want = torch.logsumexp(torch.tensor(x), dims, keepdim=keepdim)
        assert_close(got, want, what=f"logsumexp(dims={dims}, keepdim={keepdim})", dtype="float32")
    assert_close(mt.tensor(2.5).logsumexp(0), 2.5, what="logsumexp of a 0-d tensor", dtype="float32")


def test_init_helpers_not_in_the_exercise() -> None:
    mt.manual_seed(0)
    w = mt.zeros(200, 100)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.to_numpy().std() - math.sqrt(2.0 / 100)) < 0.01
    nn.init.xavier_normal_(w)
    assert abs(w.to_numpy().std() - math.sqrt(2.0 / 300)) < 0.01
    nn.init.constant_(w, 0.5)
    assert np.all(w.to_numpy() == 0.5)
    nn.init.ones_(w)
    assert np.all(w.to_numpy() == 1.0)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_uniform_(mt.zeros(0, 3))


def test_parameters_to_vector_round_trip() -> None:
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert tuple(vec.shape) == (8,)
    nn.utils.vector_to_parameters(vec.detach() * 0 + 1, model.parameters())
    assert all(np.all(p.detach().to_numpy() == 1) for p in model.parameters())


@pytest.mark.parametrize("name,args", [("Flatten", ()), ("Flatten", (0, 1)), ("ReLU", ()), ("Sigmoid", ()), ("Tanh", ()),
                                       ("Identity", ())])
def test_parameter_free_modules_match_torch(name: str, args: tuple[int, ...]) -> None:
    from tests.support.tensor_oracle import check_op

    mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(mine) == repr(theirs)
    x = np.random.default_rng(2).normal(size=(2, 3, 4))
    check_op(lambda t: mine(t) if isinstance(t, mt.Tensor) else theirs(t), x, label=repr(mine))
