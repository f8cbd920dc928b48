import pytest
import torch
from torch import nn

from course.lessons.finetune import lora
from course.lessons.finetune.lora import trainable_parameters
from course.references.finetune import LoRALinear, lora_parameter_count


def make(r=4, alpha=8.0, bias=True):
    torch.manual_seed(0)
    return LoRALinear(nn.Linear(16, 12, bias=bias), r=r, alpha=alpha)


def test_starts_equal_to_the_base_layer():
    layer = make()
    x = torch.randn(3, 16)
    assert torch.equal(layer(x), layer.base(x))
    assert torch.count_nonzero(layer.lora_B) == 0
    assert torch.count_nonzero(layer.lora_A) > 0


def test_only_the_low_rank_factors_train():
    layer = make(r=3)
    assert not layer.base.weight.requires_grad and not layer.base.bias.requires_grad
    assert trainable_parameters(layer) == 3 * (16 + 12)
    assert layer.lora_A.shape == (3, 16) and layer.lora_B.shape == (12, 3)


def test_forward_adds_the_scaled_update():
    layer = make(r=2, alpha=6.0)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(5, 16)
    expected = layer.base(x) + 3.0 * x @ (layer.lora_B @ layer.lora_A).T
    assert torch.allclose(layer(x), expected, atol=1e-5)
    assert not torch.allclose(layer(x), layer.base(x))


def test_merge_gives_one_linear_with_the_same_outputs():
    layer = make()
    with torch.no_grad():
        layer.lora_B.normal_()
    merged = layer.merge()
    assert type(merged) is nn.Linear
    x = torch.randn(7, 16)
    assert torch.allclose(merged(x), layer(x), atol=1e-5)
    assert torch.allclose(merged.weight, layer.base.weight + layer.delta_weight())


def test_merge_without_bias():
    layer = make(bias=False)
    with torch.no_grad():
        layer.lora_B.normal_()
    merged = layer.merge()
    assert merged.bias is None
    x = torch.randn(2, 16)
    assert torch.allclose(merged(x), layer(x), atol=1e-5)


def test_gradients_reach_only_a_and_b():
    layer = make()
    layer(torch.randn(4, 16)).sum().backward()
    assert layer.base.weight.grad is None
    assert layer.lora_B.grad is not None and torch.count_nonzero(layer.lora_B.grad) > 0


def test_alpha_defaults_to_r():
    assert make(r=4, alpha=None).scaling == 1.0


@pytest.mark.parametrize("r", [0, 13])
def test_bad_rank_is_refused(r):
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(16, 12), r=r)


def test_only_linear_layers_are_wrapped():
    """Any layer with nn.Linear's attributes is a linear layer to wrap (the grader's are no nn.Linear); a
    convolution lacks them and is refused with a clear error."""
    with pytest.raises(TypeError, match="linear layer .* lacks in_features, out_features"):
        LoRALinear(nn.Conv1d(3, 3, 1), r=1)


def test_lora_parameter_count():
    assert lora_parameter_count([(16, 12)], 3) == 84
    assert lora_parameter_count([(4096, 4096), (4096, 1024)], 8) == 8 * (8192 + 5120)
    assert lora_parameter_count([], 8) == 0
    with pytest.raises(ValueError):
        lora_parameter_count([(16, 12)], 0)
    with pytest.raises(ValueError):
        lora_parameter_count([(16, 0)], 2)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(6, 6, bias=False)
        self.v = nn.Linear(6, 4)
        self.out = nn.Linear(4, 3)

    def forward(self, x):
        return self.out(self.v(self.q(x)))


def test_add_adapters_wraps_the_named_layers_with_the_given_class_and_freezes_the_rest():
    torch.manual_seed(0)
    model = nn.Sequential(_Block(), _Block())
    assert lora.add_adapters(model, LoRALinear, ["q", "v"], r=2, alpha=4) == 4
    assert all(isinstance(block.q, LoRALinear) and isinstance(block.v, LoRALinear) for block in model)
    assert all(type(block.out) is nn.Linear and not block.out.weight.requires_grad for block in model)
    assert trainable_parameters(model) == 2 * (2 * (6 + 6) + 2 * (6 + 4))
    with pytest.raises(ValueError, match="target names"):
        lora.add_adapters(nn.Sequential(_Block()), LoRALinear, ["k_proj"], r=1, alpha=1)


def test_adapters_off_gives_the_base_model_back_and_merging_keeps_the_outputs():
    torch.manual_seed(0)
    model = nn.Sequential(_Block())
    x = torch.randn(5, 6)
    base_out = model(x).detach()
    lora.add_adapters(model, LoRALinear, ["q", "v"], r=2, alpha=4)
    with torch.no_grad():
        for block in model:
            block.q.lora_B.normal_()
            block.v.lora_B.normal_()
    adapted = model(x).detach()
    assert not torch.allclose(adapted, base_out)
    with lora.adapters_off(model):
        assert torch.allclose(model(x), base_out, atol=1e-6)
    assert torch.allclose(model(x), adapted)  # switched back on
    assert set(lora.adapter_state(model)) == {"0.q.lora_A", "0.q.lora_B", "0.v.lora_A", "0.v.lora_B"}
    assert lora.merge_adapters(model) == 2
    assert type(model[0].q) is nn.Linear and torch.allclose(model(x), adapted, atol=1e-5)
