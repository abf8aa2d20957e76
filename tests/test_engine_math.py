"""The glass-box engine against the oracle: torch.autograd for gradients, torch.optim for updates."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tuidl.engine.activations import ACTIVATIONS
from tuidl.engine.losses import LOSSES, accuracy
from tuidl.engine.network import Network
from tuidl.engine.optimizers import make_optimizer

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
N_OUT = {"bce": 1, "ce": 3, "mse": 2}


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max(|b|, tiny)."""
    a = torch.as_tensor(a).detach().to(torch.float64).cpu()
    b = torch.as_tensor(b).detach().to(torch.float64).cpu()
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.numel() == 0:
        return 0.0
    return ((a - b).abs().max() / max(b.abs().max().item(), 1e-30)).item()


def test_rel_err_can_fail():
    assert rel_err(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])) == 0.0
    assert rel_err(torch.tensor([1.0, 2.1]), torch.tensor([1.0, 2.0])) == pytest.approx(0.05)


def make_batch(n_in: int, loss: str, n: int = 16, seed: int = 0, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.normal(size=(n, n_in)), dtype=dtype)
    n_out = N_OUT[loss]
    if loss == "mse":
        y_np = rng.normal(size=(n, n_out))
    else:
        y_np = rng.integers(0, max(n_out, 2), size=n)
    y = LOSSES[loss].prepare_targets(y_np, n_out, "cpu", dtype)
    return x, y


# (n_in, hidden [(units, activation, dropout)], l1)
ARCHS = {
    "perceptron": (2, [], 0.0),
    "tanh_2_4_2": (2, [(4, "tanh", 0.0), (2, "tanh", 0.0)], 0.0),
    "relu_leaky": (3, [(8, "relu", 0.0), (8, "leaky_relu", 0.0)], 0.0),
    "sigmoid_linear": (3, [(8, "sigmoid", 0.0), (8, "linear", 0.0)], 0.0),
    "dropout": (3, [(8, "relu", 0.3), (8, "tanh", 0.5)], 0.0),
    "l1": (2, [(4, "tanh", 0.0), (3, "leaky_relu", 0.0)], 0.01),
}


def build(arch: str, loss: str, dtype=torch.float64, seed: int = 3, init: str = "torch") -> Network:
    n_in, hidden, l1 = ARCHS[arch]
    sizes = [n_in] + [h[0] for h in hidden] + [N_OUT[loss]]
    return Network(sizes, [h[1] for h in hidden], [h[2] for h in hidden], loss,
                   l1=l1, init=init, seed=seed, dtype=dtype)


TORCH_ACT = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "linear": lambda z: z,
}


def torch_loss(loss: str, z, y):
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(z, y)
    if loss == "ce":
        return F.cross_entropy(z, y)
    return F.mse_loss(z, y)


def oracle(net: Network, x, y, leaves):
    """The same network with torch's functional API; dropout = the engine's own masks.
    Returns (loss, data_loss, zs, as) with retain_grad on every z and hidden a."""
    h = x
    zs, acts = [], []
    for i, layer in enumerate(net.layers):
        W, b = leaves[2 * i], leaves[2 * i + 1]
        z = F.linear(h, W, b)
        z.retain_grad()
        zs.append(z)
        if i < len(net.layers) - 1:
            a = TORCH_ACT[layer.activation.name](z)
            if a is z:
                a = z.view_as(z)  # linear: a separate node so that a.grad exists
            a.retain_grad()
            acts.append(a)
            h = a * layer.mask if layer.mask is not None else a
    data = torch_loss(net.loss.name, zs[-1], y)
    total = data + net.l1 * sum(leaves[2 * i].abs().sum() for i in range(len(net.layers)))
    return total, data, zs, acts


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("loss", ["bce", "ce", "mse"])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_gradients_match_autograd(arch, loss, dtype):
    tol = TOL[dtype]
    net = build(arch, loss, dtype)
    x, y = make_batch(net.sizes[0], loss, dtype=dtype)
    gen = torch.Generator().manual_seed(7)
    out = net.forward(x, train=True, generator=gen)
    total, data, l1_term = net.loss_value(y)
    net.backward(y)

    if ARCHS[arch][1] and ARCHS[arch][1][0][2] > 0:
        assert net.layers[0].mask is not None
        assert (net.layers[0].mask == 0).any()

    leaves = [p.detach().clone().requires_grad_(True) for p in net.params()]
    t_total, t_data, zs, acts = oracle(net, x, y, leaves)
    t_total.backward()

    assert rel_err(total, t_total) <= tol
    assert rel_err(data, t_data) <= tol
    assert rel_err(l1_term, t_total - t_data) <= tol
    for i, layer in enumerate(net.layers):
        assert rel_err(layer.grad_W, leaves[2 * i].grad) <= tol, f"grad_W of layer {i}"
        assert rel_err(layer.grad_b, leaves[2 * i + 1].grad) <= tol, f"grad_b of layer {i}"
        assert rel_err(layer.grad_z, zs[i].grad) <= tol, f"grad_z of layer {i}"
        assert rel_err(layer.z, zs[i]) <= tol
        if i < len(net.layers) - 1:
            assert rel_err(layer.grad_a, acts[i].grad) <= tol, f"grad_a of layer {i}"
            assert rel_err(layer.a, acts[i]) <= tol
    # the grads list is the layers' grads, in params() order
    for g, layer_g in zip(net.grads(), [t for l in net.layers for t in (l.grad_W, l.grad_b)]):
        assert g is layer_g
    # the output layer: a = g_out(z), dL/da against autograd through the probability form
    last = net.layers[-1]
    a_leaf = last.a.detach().clone().requires_grad_(True)
    if loss == "bce":
        assert rel_err(out, torch.sigmoid(zs[-1])) <= tol
        F.binary_cross_entropy(a_leaf, y).backward()
    elif loss == "ce":
        assert rel_err(out, torch.softmax(zs[-1], dim=1)) <= tol
        F.nll_loss(torch.log(a_leaf), y).backward()
    else:
        assert rel_err(out, zs[-1]) <= tol
        F.mse_loss(a_leaf, y).backward()
    assert rel_err(last.grad_a, a_leaf.grad) <= max(tol, 1e-9 if dtype == torch.float64 else tol)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_activation_derivatives_match_autograd(name):
    act = ACTIVATIONS[name]
    z = torch.tensor([-3.0, -1.0, -0.1, 0.0, 0.1, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    a_t = TORCH_ACT[name](z)
    (g,) = torch.autograd.grad(a_t.sum(), z)
    zd = z.detach()
    a = act.forward(zd)
    assert rel_err(a, a_t) <= 1e-12
    assert rel_err(act.derivative(zd, a), g) <= 1e-12
    ga = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)  # nonzero at z = 0
    assert rel_err(act.chain(ga, zd, a), ga * g) <= 1e-12
    assert act.facts.formula and act.facts.derivative


def test_softmax_chain_is_the_jacobian_product():
    act = ACTIVATIONS["softmax"]
    z = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ga = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    zl = z.clone().requires_grad_(True)
    torch.softmax(zl, dim=1).backward(ga)
    a = act.forward(z)
    assert rel_err(act.chain(ga, z, a), zl.grad) <= 1e-12


def test_bce_value_is_stable_for_large_logits():
    bce = LOSSES["bce"]
    z = torch.tensor([[-200.0], [-30.0], [0.0], [30.0], [200.0]], dtype=torch.float64)
    y = torch.tensor([[1.0], [0.0], [1.0], [0.0], [1.0]], dtype=torch.float64)
    v = bce.value(z, torch.sigmoid(z), y)
    assert torch.isfinite(v)
    assert rel_err(v, F.binary_cross_entropy_with_logits(z, y)) <= 1e-12


def test_prepare_targets_and_accuracy():
    y = np.array([0, 1, 1, 0])
    t = LOSSES["bce"].prepare_targets(y, 1, "cpu", torch.float32)
    assert t.shape == (4, 1) and t.dtype == torch.float32
    t = LOSSES["ce"].prepare_targets(np.array([0, 2, 1]), 3, "cpu", torch.float32)
    assert t.shape == (3,) and t.dtype == torch.int64
    t = LOSSES["mse"].prepare_targets(y, 1, "cpu", torch.float64)
    assert t.shape == (4, 1) and t.dtype == torch.float64 and t[1, 0] == 1.0
    t = LOSSES["mse"].prepare_targets(np.array([[0.5], [1.5]]), 1, "cpu", torch.float32)
    assert t.shape == (2, 1) and t[1, 0] == 1.5
    t = LOSSES["mse"].prepare_targets(np.array([0, 2]), 3, "cpu", torch.float32)
    assert t.tolist() == [[1, 0, 0], [0, 0, 1]]

    a = torch.tensor([[0.2], [0.7], [0.4], [0.5]])
    yb = LOSSES["bce"].prepare_targets(y, 1, "cpu", torch.float32)
    assert accuracy("bce", a, yb) == pytest.approx(0.5)  # predictions 0,1,0,1 vs 0,1,1,0
    assert accuracy("mse", a, yb, classification=True) == pytest.approx(0.5)
    assert accuracy("mse", a, yb, classification=False) is None
    a3 = torch.tensor([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    assert accuracy("ce", a3, torch.tensor([1, 2])) == pytest.approx(0.5)


def test_init_is_deterministic_and_device_independent():
    a = Network([2, 4, 2, 1], ["tanh", "tanh"], [0, 0], "bce", seed=5, dtype=torch.float64)
    b = Network([2, 4, 2, 1], ["tanh", "tanh"], [0, 0], "bce", seed=5, dtype=torch.float32)
    c = Network([2, 4, 2, 1], ["tanh", "tanh"], [0, 0], "bce", seed=6, dtype=torch.float64)
    for pa, pb in zip(a.params(), b.params()):
        assert torch.equal(pa.to(torch.float32), pb)
    assert not torch.equal(a.params()[0], c.params()[0])
    for layer in a.layers:  # nn.Linear: U(−1/√in, 1/√in)
        bound = 1 / math.sqrt(layer.n_in)
        assert layer.W.abs().max() <= bound and layer.b.abs().max() <= bound
        assert layer.b.abs().max() > 0
    x = Network([30, 20, 1], ["relu"], [0], "bce", init="xavier", dtype=torch.float64)
    assert x.layers[0].W.abs().max() <= math.sqrt(6 / 50) and x.layers[0].b.abs().max() == 0
    h = Network([400, 300, 1], ["relu"], [0], "bce", init="he", dtype=torch.float64)
    assert h.layers[0].W.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    z = Network([2, 3, 1], ["relu"], [0], "bce", init="zeros")
    assert all((p == 0).all() for p in z.params())
    assert a.layers[-1].activation.name == "sigmoid"
    assert Network([2, 3], [], [], "ce").layers[-1].activation.name == "softmax"
    assert Network([2, 1], [], [], "mse").layers[-1].activation.name == "linear"


def test_predict_leaves_records_alone_and_skips_dropout():
    net = build("dropout", "bce")
    x, y = make_batch(3, "bce")
    net.forward(x, train=True, generator=torch.Generator().manual_seed(1))
    net.backward(y)
    kept = {k: getattr(net.layers[0], k) for k in ("input", "z", "a", "mask", "grad_z")}
    gW = net.layers[0].grad_W.clone()
    p1 = net.predict(x[:5])
    loss, out = net.evaluate(x[:5], y[:5])
    assert torch.equal(out, p1)
    assert rel_err(loss, F.binary_cross_entropy_with_logits(torch.logit(p1), y[:5])) <= 1e-9
    p2 = net.forward(x[:5], train=False)
    assert torch.equal(p1, p2)
    assert net.layers[0].mask is None
    net2 = build("dropout", "bce")
    net2.forward(x, train=True, generator=torch.Generator().manual_seed(1))
    net2.backward(y)
    net2.predict(torch.zeros(3, 3, dtype=torch.float64))
    net2.evaluate(x[:4], y[:4])
    for k in ("input", "z", "a", "mask", "grad_z"):
        assert getattr(net2.layers[0], k) is not None
        assert torch.equal(getattr(net2.layers[0], k), kept[k])
    assert torch.equal(net2.layers[0].grad_W, gW)


def test_dropout_masks_follow_the_generator():
    net = build("dropout", "bce")
    x, _ = make_batch(3, "bce", n=200)
    net.forward(x, generator=torch.Generator().manual_seed(4))
    m1 = net.layers[0].mask.clone()
    net.forward(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(m1, net.layers[0].mask)
    values = m1.unique()
    assert len(values) == 2 and values[0] == 0 and rel_err(values[1], torch.tensor(1 / 0.7, dtype=torch.float64)) <= 1e-12
    assert 0.2 < (m1 == 0).double().mean().item() < 0.4


def test_state_dict_round_trip():
    net = build("tanh_2_4_2", "bce")
    d = net.state_dict()
    assert set(d) == {f"layers.{i}.{k}" for i in range(3) for k in ("weight", "bias")}
    assert d["layers.0.weight"].shape == (4, 2) and d["layers.0.weight"].device.type == "cpu"
    other = build("tanh_2_4_2", "bce", seed=99)
    params_before = other.params()
    other.load_state_dict(d)
    assert other.params() is params_before
    for a, b in zip(net.params(), other.params()):
        assert torch.equal(a, b)
    d["layers.0.weight"].add_(1)  # a clone: the network is untouched
    assert not torch.equal(net.layers[0].W, d["layers.0.weight"])


# --- optimizers against torch.optim --------------------------------------------------------

OPT_CASES = [
    ("sgd", 0.1, {}),
    ("sgd", 0.1, {"momentum": 0.9}),
    ("sgd", 0.1, {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", 0.1, {"momentum": 0.8, "nesterov": True}),
    ("sgd", 0.1, {"weight_decay": 0.05}),
    ("sgd", 0.1, {"momentum": 0.9, "weight_decay": 0.05, "nesterov": True}),
    ("adam", 0.01, {}),
    ("adam", 0.01, {"weight_decay": 0.1}),
    ("adam", 0.01, {"amsgrad": True}),
    ("adam", 0.02, {"betas": (0.5, 0.9)}),
    ("rmsprop", 0.01, {}),
    ("rmsprop", 0.01, {"momentum": 0.9}),
    ("rmsprop", 0.01, {"centered": True}),
    ("rmsprop", 0.01, {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", 0.01, {"weight_decay": 0.1}),
    ("adagrad", 0.1, {}),
    ("adagrad", 0.1, {"lr_decay": 0.1}),
    ("adagrad", 0.1, {"initial_accumulator_value": 0.5}),
    ("adagrad", 0.1, {"weight_decay": 0.1}),
    ("adadelta", 1.0, {}),
    ("adadelta", 1.0, {"weight_decay": 0.1}),
    ("adadelta", 0.5, {}),
]
DEFAULTS = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
    "adagrad": {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10, "weight_decay": 0.0},
    "adadelta": {"rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
}
TORCH_OPT = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop,
             "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta}


def case_id(case):
    name, lr, opts = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in opts.items()) or "default") + f"-lr{lr}"


def batches(n_in, loss, k, dtype):
    return [make_batch(n_in, loss, n=10, seed=100 + i, dtype=dtype) for i in range(k)]


def torch_step(leaves, net, x, y, topt):
    """One step of the oracle: functional forward (no dropout), autograd, torch.optim."""
    topt.zero_grad()
    h = x
    for i, layer in enumerate(net.layers):
        z = F.linear(h, leaves[2 * i], leaves[2 * i + 1])
        h = TORCH_ACT[layer.activation.name](z) if i < len(net.layers) - 1 else z
    loss = torch_loss(net.loss.name, h, y)
    if net.l1:
        loss = loss + net.l1 * sum(leaves[2 * i].abs().sum() for i in range(len(net.layers)))
    loss.backward()
    topt.step()


def our_step(net, opt, x, y):
    net.forward(x)
    net.loss_value(y)
    net.backward(y)
    opt.step(net.grads())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", OPT_CASES, ids=case_id)
@pytest.mark.parametrize("arch,loss", [("tanh_2_4_2", "bce"), ("l1", "ce")])
def test_optimizer_matches_torch_optim(arch, loss, case, dtype):
    name, lr, opts = case
    options = {**DEFAULTS[name], **opts}
    tol = TOL[dtype]
    net = build(arch, loss, dtype)
    opt = make_optimizer(name, net.params(), lr, options)
    leaves = [p.detach().clone().requires_grad_(True) for p in net.params()]
    topt = TORCH_OPT[name](leaves, lr=lr, **options)
    for step, (x, y) in enumerate(batches(net.sizes[0], loss, 6, dtype), start=1):
        grads_before = [g.clone() for g in net.grads()]
        our_step(net, opt, x, y)
        torch_step(leaves, net, x, y, topt)
        assert opt.step_count == step
        for i, (ours, theirs) in enumerate(zip(net.params(), leaves)):
            assert rel_err(ours, theirs) <= tol, f"param {i} after step {step}"
        # state, under torch.optim's names
        for i, leaf in enumerate(leaves):
            tstate = topt.state[leaf]
            for key, value in tstate.items():
                if key == "step":
                    assert float(value) == opt.step_count
                else:
                    assert rel_err(opt.state[i][key], value) <= tol, f"{key} of param {i}"
        del grads_before
    assert opt.rule and all(isinstance(line, str) for line in opt.rule)


@pytest.mark.parametrize("case", OPT_CASES, ids=case_id)
def test_weight_decay_leaves_caller_grads_alone_and_explain_terms(case):
    name, lr, opts = case
    options = {**DEFAULTS[name], **opts}
    net_a = build("tanh_2_4_2", "bce")
    net_b = build("tanh_2_4_2", "bce")
    opt_a = make_optimizer(name, net_a.params(), lr, options)
    opt_b = make_optimizer(name, net_b.params(), lr, options)
    opt_b.explain = True
    for x, y in batches(2, "bce", 4, torch.float64):
        net_a.forward(x)
        net_a.backward(y)
        saved = [g.clone() for g in net_a.grads()]
        opt_a.step(net_a.grads())
        for g, s in zip(net_a.grads(), saved):
            assert torch.equal(g, s), "the step changed the caller's gradient"
        net_b.forward(x)
        net_b.backward(y)
        old = [p.clone() for p in net_b.params()]
        gb = [g.clone() for g in net_b.grads()]
        opt_b.step(net_b.grads())
        for p, q in zip(net_a.params(), net_b.params()):
            assert torch.equal(p, q), "explain mode changed the result"
        wd = options.get("weight_decay", 0.0)
        for i, p in enumerate(net_b.params()):
            t = opt_b.terms[i]
            assert rel_err(t["update"], p - old[i]) <= 1e-12  # Δθ, the change applied: θ′ = θ + Δθ
            assert t["update"].shape == p.shape
            assert rel_err(t["g"], gb[i] + wd * old[i]) <= 1e-12
            if name == "adam":
                assert t["m_hat"].shape == p.shape and t["v_hat"].shape == p.shape
            if name == "adagrad":
                assert "clr" in t


@pytest.mark.parametrize("case", OPT_CASES, ids=case_id)
def test_optimizer_resume_is_exact(case):
    name, lr, opts = case
    options = {**DEFAULTS[name], **opts}
    data = batches(2, "bce", 6, torch.float32)
    net = build("tanh_2_4_2", "bce", torch.float32)
    opt = make_optimizer(name, net.params(), lr, options)
    for x, y in data[:3]:
        our_step(net, opt, x, y)
    saved_net, saved_opt = net.state_dict(), opt.state_dict()
    for st in saved_opt["state"]:
        assert all(v.device.type == "cpu" for v in st.values())
    for x, y in data[3:]:
        our_step(net, opt, x, y)

    net2 = build("tanh_2_4_2", "bce", torch.float32, seed=42)
    opt2 = make_optimizer(name, net2.params(), lr, options)
    net2.load_state_dict(saved_net)
    opt2.load_state_dict(saved_opt)
    assert opt2.step_count == 3
    for x, y in data[3:]:
        our_step(net2, opt2, x, y)
    for a, b in zip(net.params(), net2.params()):
        assert torch.equal(a, b)
    for sa, sb in zip(opt.state, opt2.state):
        for k in sa:
            assert torch.equal(sa[k], sb[k])


@pytest.mark.parametrize("case", OPT_CASES[::3], ids=case_id)
def test_optimizer_on_separate_tensors_matches_torch(case):
    """The generic path (parameters not views of one flat tensor) against torch.optim."""
    name, lr, opts = case
    options = {**DEFAULTS[name], **opts}
    g = torch.Generator().manual_seed(0)
    ours = [torch.randn(3, 2, dtype=torch.float64, generator=g), torch.randn(3, dtype=torch.float64, generator=g)]
    leaves = [p.clone().requires_grad_(True) for p in ours]
    opt = make_optimizer(name, ours, lr, options)
    assert opt._flat_p is None
    topt = TORCH_OPT[name](leaves, lr=lr, **options)
    for step in range(5):
        grads = [torch.randn(p.shape, dtype=torch.float64, generator=g) for p in ours]
        for leaf, gr in zip(leaves, grads):
            leaf.grad = gr.clone()
        opt.step(grads)
        topt.step()
        for a, b in zip(ours, leaves):
            assert rel_err(a, b) <= 1e-10


def test_sgd_state_only_after_first_step():
    net = build("perceptron", "bce")
    opt = make_optimizer("sgd", net.params(), 0.1, {**DEFAULTS["sgd"], "momentum": 0.9})
    assert opt.state_dict()["state"][0] == {}
    plain = make_optimizer("sgd", net.params(), 0.1, DEFAULTS["sgd"])
    assert plain.state[0] == {}
    with pytest.raises(ValueError):
        make_optimizer("lbfgs", net.params(), 0.1, {})


def test_rules_show_the_options_in_use():
    p = [torch.zeros(2)]
    plain = make_optimizer("sgd", p, 0.1, DEFAULTS["sgd"]).rule
    mom = make_optimizer("sgd", p, 0.1, {**DEFAULTS["sgd"], "momentum": 0.9}).rule
    assert not any("μ" in line for line in plain)
    assert any("μ" in line for line in mom)
    wd = make_optimizer("adam", p, 0.1, {**DEFAULTS["adam"], "weight_decay": 0.1}).rule
    assert any("λ" in line for line in wd)
    assert any("ḡ" in line for line in make_optimizer(
        "rmsprop", p, 0.1, {**DEFAULTS["rmsprop"], "centered": True}).rule)
