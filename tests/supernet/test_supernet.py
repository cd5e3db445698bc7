from dataclasses import replace

import numpy as np
import pytest
import torch

from edgenas.data import make_synthetic
from edgenas.deploy.onnx_export import export_onnx, run_onnx
from edgenas.errors import CheckpointError, UsageError
from edgenas.space import Arch, get_space, largest_arch, plan_net, sample_arch, smallest_arch
from edgenas.supernet import (
    OFASupernet,
    Phase,
    TrainConfig,
    default_phases,
    extract_subnet,
    Subnet,
    load_subnet,
    load_supernet,
    prepare_subnet,
    recalibrate_bn,
    resolve_device,
    sample_for_phase,
    subnets_for_step,
    trained_epochs,
    save_subnet,
    train_supernet,
)
from edgenas.supernet.checkpoint import weights_sha256
from edgenas.supernet.manifest import RESUME_JSON, role_path
from edgenas.supernet.importance import sort_hidden_channels

TINY_PHASES = (Phase("full", 1, 0.1), Phase("kernel", 1, 0.03), Phase("depth", 1, 0.02, 2), Phase("expand", 1, 0.02, 2))


def randomized_supernet(name="mcu-mbv2", seed=0):
    """A supernet whose BN statistics and affine parameters are not trivial (each kernel size's own)."""
    torch.manual_seed(seed)
    net = OFASupernet(get_space(name))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.mark.slow
def test_extracted_subnet_equals_supernet():
    net = randomized_supernet()
    rng = np.random.default_rng(0)
    archs = [largest_arch(net.spec), smallest_arch(net.spec)] + [sample_arch(net.spec, rng) for _ in range(4)]
    for arch in archs:
        net.set_active(arch)
        sub = extract_subnet(net, arch)
        x = torch.rand(2, 1, arch.resolution, arch.resolution)
        with torch.no_grad():
            torch.testing.assert_close(sub(x), net(x), rtol=1e-5, atol=1e-5)
        n_params = sum(p.numel() for p in sub.parameters())
        assert n_params < sum(p.numel() for p in net.parameters())


def test_each_kernel_size_trains_only_its_own_depthwise_weights_and_bn():
    net = randomized_supernet().train()
    spec = net.spec
    k3 = Arch.parse(str(largest_arch(spec)).replace("k7", "k3"))
    net.set_active(k3)
    net(torch.rand(2, 1, k3.resolution, k3.resolution)).sum().backward()
    block = net.stages[1][1]
    assert block.depthwise.weights["3"].grad.abs().sum() > 0
    assert block.depthwise_bn.for_kernel(3).weight.grad.abs().sum() > 0
    for k in (5, 7):
        assert block.depthwise.weights[str(k)].grad is None
        assert block.depthwise_bn.for_kernel(k).weight.grad is None
    assert block.expand.weight.grad.abs().sum() > 0  # pointwise convolutions stay shared


def _shared_kernel_state(net, transforms_noise=0.1):
    """``net``'s weights written in the shared-kernel format (one 7x7 kernel per block, smaller
    ones through learned transforms, one BN), with random transforms."""
    torch.manual_seed(1)
    state = {}
    for key, value in net.state_dict().items():
        head, _, tail = key.rpartition(".")
        if head.endswith("depthwise.weights") and tail != "7" and key.startswith("stages"):
            continue
        if head.endswith(".weights") or head == "first_dw.weights":
            prefix = head[: -len("weights")]
            state[prefix + "weight"] = value
            if tail == "7":
                state[prefix + "transforms.7to5"] = torch.eye(25) + transforms_noise * torch.randn(25, 25)
                state[prefix + "transforms.5to3"] = torch.eye(9) + transforms_noise * torch.randn(9, 9)
        elif ".depthwise_bn." in key:
            bn, _, kernel = head.rpartition(".")
            if kernel == "7":
                state[f"{bn}.{tail}"] = value
        else:
            state[key] = value
    return state


@pytest.mark.slow
def test_shared_kernel_checkpoints_load_as_the_same_function(tmp_path):
    """A checkpoint of the earlier format converts to private kernels that compute what it did."""
    from safetensors.torch import save_file

    from edgenas.supernet.checkpoint import load_weights

    net = randomized_supernet()
    old = _shared_kernel_state(net)
    save_file({k: v.contiguous() for k, v in old.items()}, str(tmp_path / "w.safetensors"))
    loaded = OFASupernet(net.spec)
    load_weights(loaded, tmp_path / "w.safetensors")
    dw = loaded.stages[2][0].depthwise
    w7 = old["stages.2.0.depthwise.weight"]
    w5 = (w7[:, :, 1:6, 1:6].reshape(len(w7), 25) @ old["stages.2.0.depthwise.transforms.7to5"]).reshape(-1, 1, 5, 5)
    w3 = (w5[:, :, 1:4, 1:4].reshape(len(w7), 9) @ old["stages.2.0.depthwise.transforms.5to3"]).reshape(-1, 1, 3, 3)
    torch.testing.assert_close(dw.weights["5"].data, w5)
    torch.testing.assert_close(dw.weights["3"].data, w3)
    assert torch.equal(dw.weights["7"].data, w7)
    for k in (3, 5, 7):
        bn = loaded.stages[2][0].depthwise_bn.for_kernel(k)
        assert torch.equal(bn.running_var, old["stages.2.0.depthwise_bn.running_var"])
    assert torch.equal(loaded.first_dw.weights["3"].data, old["first_dw.weight"])
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_weights(loaded, tmp_path / "bad.safetensors")


def test_channel_sorting_keeps_the_function():
    """Every kernel size's weights and BN follow the permutation, not only the largest's."""
    net = randomized_supernet()
    top = largest_arch(net.spec)
    archs = [top, Arch.parse(str(top).replace("k7", "k3")), Arch.parse(str(top).replace("k7", "k5"))]
    x = torch.rand(2, 1, top.resolution, top.resolution)
    with torch.no_grad():
        before = [net.set_active(a) or net(x) for a in archs]
        sort_hidden_channels(net)
        after = [net.set_active(a) or net(x) for a in archs]
    for b, a in zip(before, after):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    imp = net.stages[1][1].project.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(imp[:-1] >= imp[1:])


def test_plan_channels_follow_width():
    spec = get_space("mcu-mbv2")
    arch = smallest_arch(spec)
    plan = plan_net(spec, arch)
    assert plan.stem_channels == 8 and plan.blocks[0].in_channels == 8
    assert plan.blocks[0].mid_channels == 24 and not plan.blocks[0].residual and plan.blocks[1].residual


@pytest.mark.parametrize("kind", ["full", "kernel", "depth", "expand"])
def test_phase_sampling_keeps_fixed_choices_maximal(kind):
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(0)
    archs = [sample_for_phase(spec, kind, rng).validate(spec) for _ in range(40)]
    kernels = {b.kernel for a in archs for _, _, b in a.blocks()}
    expands = {b.expand for a in archs for _, _, b in a.blocks()}
    depths = {d for a in archs for d in a.depths}
    widths = {a.width for a in archs}
    assert len({a.resolution for a in archs}) > 1
    assert (len(kernels) > 1) == (kind != "full")
    assert (len(depths) > 1) == (kind in ("depth", "expand"))
    assert (len(expands) > 1) == (len(widths) > 1) == (kind == "expand")


def _tiny_run(tmp_path, name, seed=1):
    data = make_synthetic(seed=0)
    spec = get_space("tiny-test")
    config = TrainConfig(phases=TINY_PHASES, batch_size=32, seed=seed, max_steps_per_epoch=3, threads=1, eval_images=32)
    train_supernet(data, spec, tmp_path / name, config)
    return tmp_path / name


@pytest.mark.slow
def test_same_seed_same_checkpoint_bytes(tmp_path):
    a = _tiny_run(tmp_path, "a")
    b = _tiny_run(tmp_path, "b")
    c = _tiny_run(tmp_path, "c", seed=2)
    wa = (a / "supernet.safetensors").read_bytes()
    assert wa == (b / "supernet.safetensors").read_bytes()
    assert wa != (c / "supernet.safetensors").read_bytes()
    assert not (a / "resume.json").exists()


@pytest.mark.slow
def test_resume_after_crash_gives_identical_weights(tmp_path):
    data = make_synthetic(seed=0)
    spec = get_space("tiny-test")
    config = TrainConfig(phases=TINY_PHASES, batch_size=32, seed=1, max_steps_per_epoch=3, threads=1, eval_images=32)
    crashed = {"n": 0}

    def crash(record):
        crashed["n"] += 1
        if crashed["n"] == 2:  # after the kernel phase's checkpoint is written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(data, spec, tmp_path / "r", config, on_epoch=crash)
    assert role_path(tmp_path / "r", RESUME_JSON) is not None
    train_supernet(data, spec, tmp_path / "r", config)
    reference = _tiny_run(tmp_path, "ref")
    assert (tmp_path / "r" / "supernet.safetensors").read_bytes() == (reference / "supernet.safetensors").read_bytes()


@pytest.mark.slow
def test_resume_refuses_other_settings(tmp_path):
    data = make_synthetic(seed=0)
    spec = get_space("tiny-test")
    config = TrainConfig(phases=TINY_PHASES, batch_size=32, seed=1, max_steps_per_epoch=2, threads=1, eval_images=32)

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(data, spec, tmp_path / "r", config, on_epoch=stop)
    with pytest.raises(CheckpointError, match="different settings"):
        train_supernet(data, spec, tmp_path / "r", TrainConfig(phases=TINY_PHASES, seed=9, max_steps_per_epoch=2))
    with pytest.raises(CheckpointError, match="other data"):
        train_supernet(make_synthetic(seed=1), spec, tmp_path / "r", config)


@pytest.mark.slow
def test_training_learns_the_synthetic_task(tmp_path):
    data = make_synthetic(seed=0, n_train=512)
    spec = get_space("tiny-test")
    config = TrainConfig(
        phases=(Phase("full", 4, 0.1),), batch_size=32, seed=0, threads=1, eval_images=64, label_smoothing=0.0
    )
    train_supernet(data, spec, tmp_path / "s", config)
    net, meta = load_supernet(tmp_path / "s")
    assert meta["complete"] and meta["dataset"] == "synthetic"
    arch = largest_arch(spec)
    sub = prepare_subnet(net, arch, data, calib_images=256)
    from edgenas.supernet import accuracy

    assert accuracy(sub, data.test, arch.resolution) > 0.8


def test_bn_recalibration_matches_data_statistics():
    data = make_synthetic(seed=0)
    net = randomized_supernet("tiny-test")
    arch = largest_arch(net.spec)
    sub = extract_subnet(net, arch)
    recalibrate_bn(sub, data.train, arch.resolution, images=256, batch_size=64)
    from edgenas.data import resize, to_tensor

    x = resize(to_tensor(data.train.x[:256]), arch.resolution)
    with torch.no_grad():
        y = sub.stem.conv(x)
    torch.testing.assert_close(sub.stem.bn.running_mean, y.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert sub.stem.bn.momentum == 0.1


@pytest.mark.slow
def test_subnet_save_load_and_onnx(tmp_path):
    net = randomized_supernet()
    arch = sample_arch(net.spec, np.random.default_rng(4))
    sub = extract_subnet(net, arch)
    save_subnet(sub, tmp_path / "sub")
    loaded, meta = load_subnet(tmp_path / "sub")
    assert meta["arch"] == str(arch)
    x = torch.rand(1, 1, arch.resolution, arch.resolution)
    with torch.no_grad():
        expected = sub(x).numpy()
    np.testing.assert_allclose(loaded(x).detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    path = export_onnx(loaded, tmp_path / "m.onnx")
    np.testing.assert_allclose(run_onnx(path, x.numpy()), expected, rtol=1e-4, atol=1e-5)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no supernet checkpoint"):
        load_supernet(tmp_path)
    with pytest.raises(CheckpointError, match="not a subnet directory"):
        load_subnet(tmp_path)


def test_same_padding_matches_tflite_rule():
    from edgenas.space import same_padding

    assert same_padding(48, 3, 2) == (0, 1)  # even input, stride 2: one less before
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(14, 7, 1) == (3, 3)
    assert same_padding(5, 5, 2) == (2, 2)


@pytest.mark.slow
def test_from_scratch_training_learns_and_is_seeded():
    from edgenas.supernet import accuracy, train_from_scratch

    data = make_synthetic(seed=0, n_train=512)
    spec = get_space("tiny-test")
    arch = smallest_arch(spec)
    a = train_from_scratch(spec, arch, data, epochs=3, batch_size=32, seed=0, label_smoothing=0.0)
    b = train_from_scratch(spec, arch, data, epochs=3, batch_size=32, seed=0, label_smoothing=0.0)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert accuracy(a, data.test, arch.resolution) > 0.7


@pytest.mark.slow
def test_finetuning_an_extracted_subnet_distils_from_the_largest_and_is_seeded(tmp_path):
    """Fine-tuning trains the inherited weights further (not the supernet's), with the largest
    subnet as teacher: its loss exceeds plain cross-entropy on the same batches."""
    from edgenas.supernet import finetune_subnet
    from edgenas.supernet.subnet_training import fit_subnet

    net, _ = load_supernet(_tiny_run(tmp_path, "s"))
    data = make_synthetic(seed=0)
    arch = smallest_arch(net.spec)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    runs = []
    for _ in range(2):
        sub = prepare_subnet(net, arch, data, calib_images=64)
        inherited = {k: v.clone() for k, v in sub.state_dict().items()}
        losses: list[float] = []
        finetune_subnet(net, sub, arch, data, epochs=1, batch_size=32, max_steps_per_epoch=3,
                        on_epoch=lambda e, loss: losses.append(loss))
        runs.append((sub.state_dict(), losses[0]))
    assert all(torch.equal(p, q) for p, q in zip(runs[0][0].values(), runs[1][0].values()))
    assert any(not torch.equal(inherited[k], runs[0][0][k]) for k in inherited)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    plain: list[float] = []
    fit_subnet(prepare_subnet(net, arch, data, calib_images=64), arch, data, epochs=1, lr=0.01, batch_size=32,
               max_steps_per_epoch=3, on_epoch=lambda e, loss: plain.append(loss))
    assert runs[0][1] > plain[0]  # the distillation term adds a positive soft cross-entropy


def test_sandwich_trains_both_ends_every_step():
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(0)
    for kind in ("depth", "expand"):
        archs = subnets_for_step(spec, Phase(kind, 1, 0.02, 4, sandwich=True), rng)
        assert len(archs) == 4
        assert archs[0].stages == largest_arch(spec).stages
        if kind == "expand":
            assert archs[1] == smallest_arch(spec)
        else:  # the depth phase's smallest: shallowest stages, everything else maximal
            assert [len(s) for s in archs[1].stages] == [min(s.depths) for s in spec.stages]
            assert archs[1].width == max(spec.widths)
    plain = subnets_for_step(spec, Phase("expand", 1, 0.02, 4), np.random.default_rng(0))
    assert smallest_arch(spec) not in plain


def test_resolution_weights_skew_the_step_resolution():
    spec = get_space("mcu-mbv2")  # resolutions 24, 28, 32, 40, 48
    only_24 = Phase("expand", 1, 0.02, 4, sandwich=True, resolution_weights=(1, 0, 0, 0, 0))
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert {a.resolution for a in subnets_for_step(spec, only_24, rng)} == {24}
    skewed = Phase("expand", 1, 0.02, 4, resolution_weights=(4, 3, 2, 1, 1))
    rng = np.random.default_rng(1)
    drawn = [subnets_for_step(spec, skewed, rng)[0].resolution for _ in range(2000)]
    share = {r: drawn.count(r) / len(drawn) for r in spec.resolutions}
    assert share[24] == pytest.approx(4 / 11, abs=0.04) and share[48] == pytest.approx(1 / 11, abs=0.03)
    # no weights: the uniform draws of before, step for step (a resumed run draws what it drew)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert [sample_for_phase(spec, "expand", a) for _ in range(5)] == \
        [sample_for_phase(spec, "expand", b, ()) for _ in range(5)]


def test_width_weights_skew_the_expand_phase_draws():
    spec = get_space("mcu-mbv2")  # widths 0.5, 0.75, 1.0
    narrow = default_phases((0, 0, 0, 1), 5, sandwich=True, kernel_end_top=True, width_weights=(1, 0, 0))[0]
    assert narrow.width_weights == (1.0, 0.0, 0.0)
    rng = np.random.default_rng(0)
    for _ in range(20):  # the fixed draws keep their widths, both random ones are narrow
        archs = subnets_for_step(spec, narrow, rng)
        assert [a.width for a in archs] == [1.0, 0.5, 1.0, 0.5, 0.5]
    skewed = Phase("expand", 1, 0.02, 1, width_weights=(3, 2, 1))
    rng = np.random.default_rng(1)
    drawn = [subnets_for_step(spec, skewed, rng)[0].width for _ in range(3000)]
    assert drawn.count(0.5) / len(drawn) == pytest.approx(1 / 2, abs=0.04)
    assert drawn.count(1.0) / len(drawn) == pytest.approx(1 / 6, abs=0.03)
    # only the expand phase has elastic widths; no weights draw as before, step for step
    assert all(p.width_weights == () for p in default_phases((1, 1, 1, 0), 5, True, width_weights=(1, 0, 0)))
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert [sample_for_phase(spec, "expand", a) for _ in range(5)] == \
        [sample_for_phase(spec, "expand", b, (), ()) for _ in range(5)]
    with pytest.raises(UsageError, match="2 width weights for the 3 widths"):
        sample_for_phase(spec, "expand", np.random.default_rng(0), (), (1, 2))
    with pytest.raises(UsageError, match="width weights must be non-negative"):
        Phase("expand", 1, 0.02, width_weights=(0, 0, 0))
    phase = Phase("expand", 1, 0.02, width_weights=[3, 2, 1])  # as read back from JSON
    assert TrainConfig.from_dict(TrainConfig(phases=(phase,)).to_dict()).phases == (phase,)


def test_resolution_weights_are_checked():
    spec = get_space("mcu-mbv2")
    with pytest.raises(UsageError, match="not all 0"):
        Phase("expand", 1, 0.02, resolution_weights=(0, 0, 0, 0, 0))
    with pytest.raises(UsageError, match="non-negative"):
        Phase("expand", 1, 0.02, resolution_weights=(1, -1, 1, 1, 1))
    with pytest.raises(UsageError, match="3 resolution weights for the 5 resolutions"):
        sample_for_phase(spec, "expand", np.random.default_rng(0), (1, 2, 3))
    phase = Phase("expand", 1, 0.02, resolution_weights=[4, 3, 2, 1, 1])  # as read back from JSON
    assert phase.resolution_weights == (4.0, 3.0, 2.0, 1.0, 1.0)
    assert TrainConfig.from_dict(TrainConfig(phases=(phase,)).to_dict()).phases == (phase,)


def test_runs_recorded_before_resolution_weights_keep_their_settings():
    """A checkpoint written before the field existed has no resolution_weights in its phases: it
    is the same run (resumable, finished) as the same command now, not one with other settings."""
    from edgenas.supernet.train import same_config

    config = TrainConfig(phases=(Phase("expand", 2, 0.02, 4, True, True),))
    old = config.to_dict()
    for phase in old["phases"]:
        del phase["resolution_weights"]
    assert same_config(old, config)
    assert not same_config(old, TrainConfig(phases=(Phase("expand", 2, 0.02, 4, True, True, (1, 1)),)))
    assert not same_config({**old, "batch_size": 64}, config)
    assert not same_config({"phases": [{"kind": "expand"}]}, config) and not same_config(None, config)


def test_kernel_sandwich_trains_both_uniform_kernel_ends():
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(0)
    top = largest_arch(spec)
    for _ in range(10):
        archs = subnets_for_step(spec, Phase("kernel", 1, 0.03, 3, sandwich=True), rng)
        assert archs[0].stages == top.stages
        assert {b.kernel for _, _, b in archs[1].blocks()} == {min(spec.kernels)}
        assert [b.expand for _, _, b in archs[1].blocks()] == [b.expand for _, _, b in top.blocks()]
        assert len({a.resolution for a in archs}) == 1


def test_kernel_end_makes_the_third_draw_all_smallest_kernels():
    spec = get_space("mcu-mbv2")
    for kernel_end in (False, True):
        rng = np.random.default_rng(3)
        third = [subnets_for_step(spec, Phase("expand", 1, 0.02, 4, True, kernel_end), rng)[2] for _ in range(10)]
        all_small = [{b.kernel for _, _, b in a.blocks()} == {min(spec.kernels)} for a in third]
        assert all(all_small) if kernel_end else not any(all_small)
    phases = default_phases((1, 1, 1, 1), subnets=4, sandwich=True)
    assert [(p.kind, p.subnets_per_step, p.sandwich, p.kernel_end) for p in phases] == [
        ("full", 1, False, False), ("kernel", 4, True, False), ("depth", 4, True, True), ("expand", 4, True, True)]


def test_kernel_end_top_makes_the_third_draw_the_largest_with_smallest_kernels():
    from edgenas.space import largest_arch

    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(5)
    phase = default_phases((0, 0, 0, 1), subnets=4, sandwich=True, kernel_end_top=True)[0]
    assert phase.kernel_end and phase.kernel_end_top
    top = largest_arch(spec)
    for _ in range(6):
        archs = subnets_for_step(spec, phase, rng)
        third = archs[2]
        assert (third.resolution, third.width, third.depths) == (archs[0].resolution, top.width, top.depths)
        assert {b.kernel for _, _, b in third.blocks()} == {min(spec.kernels)}
        assert {b.expand for _, _, b in third.blocks()} == {max(spec.expands)}
        assert archs[3] != third  # the fourth stays a random draw
    assert not any(p.kernel_end_top for p in default_phases((1, 1, 1, 1), subnets=4, sandwich=True))


def test_kernel_end_top_with_five_subnets_keeps_a_random_all_smallest_kernel_draw_too():
    spec = get_space("mcu-mbv2")
    phase = default_phases((0, 0, 0, 1), subnets=5, sandwich=True, kernel_end_top=True)[0]
    rng = np.random.default_rng(7)
    small = min(spec.kernels)
    fourth = []
    for _ in range(8):
        archs = subnets_for_step(spec, phase, rng)
        assert len(archs) == 5
        assert {b.kernel for _, _, b in archs[2].blocks()} == {small}
        assert {b.kernel for _, _, b in archs[3].blocks()} == {small}
        assert {b.kernel for _, _, b in archs[4].blocks()} != {small}  # the fifth stays random
        fourth.append(archs[3])
    assert len({(a.width, a.depths) for a in fourth}) > 1  # random, not the top's all-3x3


def test_corner_draws_add_the_shallow_largest_and_the_smallest_at_the_step_resolution():
    from edgenas.space import largest_arch, smallest_arch

    spec = get_space("mcu-mbv2")
    phase = default_phases((0, 0, 0, 1), subnets=5, sandwich=True, kernel_end_top=True, corner_draws=True)[0]
    plain = default_phases((0, 0, 0, 1), subnets=5, sandwich=True, kernel_end_top=True)[0]
    top, small = largest_arch(spec), smallest_arch(spec)
    first = subnets_for_step(spec, phase, np.random.default_rng(11))
    assert first[:5] == subnets_for_step(spec, plain, np.random.default_rng(11))  # the usual five come first
    rng = np.random.default_rng(11)
    resolutions, kernels = set(), set()
    for _ in range(20):
        archs = subnets_for_step(spec, phase, rng)
        step_r = archs[0].resolution
        shallow = archs[5]
        assert (shallow.resolution, shallow.width) == (step_r, top.width)
        assert shallow.depths == small.depths and {b.expand for _, _, b in shallow.blocks()} == {max(spec.expands)}
        kernels |= {b.kernel for _, _, b in shallow.blocks()}
        if step_r == small.resolution:
            assert len(archs) == 6
        else:
            assert len(archs) == 7 and archs[6] == replace(small, resolution=step_r)
        resolutions.add(step_r)
    assert len(resolutions) > 2 and kernels == set(spec.kernels)
    assert [p.corner_draws for p in default_phases((1, 1, 1, 1), subnets=5, sandwich=True, corner_draws=True)] == [
        False, False, False, True]
    assert not default_phases((0, 0, 0, 1), subnets=5, corner_draws=True)[0].corner_draws  # needs the sandwich


def test_lr_scale_multiplies_every_peak_learning_rate():
    base = default_phases((2, 1, 1, 3), subnets=4, sandwich=True)
    scaled = default_phases((2, 1, 1, 3), subnets=4, sandwich=True, lr_scale=3.0)
    assert [p.lr * 3.0 for p in base] == pytest.approx([p.lr for p in scaled])
    assert [(p.kind, p.epochs, p.subnets_per_step, p.sandwich) for p in base] == [
        (p.kind, p.epochs, p.subnets_per_step, p.sandwich) for p in scaled
    ]
    with pytest.raises(UsageError, match="positive"):
        default_phases((1, 0, 0, 0), lr_scale=0.0)


def test_subnets_of_a_step_share_one_resolution_but_the_smallest():
    """One resolution per step (augmentation and teacher run once); the sandwich's smallest keeps its own."""
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(1)
    drawn = set()
    for _ in range(30):
        archs = subnets_for_step(spec, Phase("expand", 1, 0.02, 4, sandwich=True), rng)
        assert len({a.resolution for a in archs[:1] + archs[2:]}) == 1
        assert archs[1].resolution == min(spec.resolutions)
        drawn.add(archs[0].resolution)
    assert drawn == set(spec.resolutions)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [1, 3, 5, 7])
@pytest.mark.slow
def test_conv2d_same_equals_an_explicit_same_pad(kernel, stride):
    from edgenas.space import same_padding
    from edgenas.supernet.padding import conv2d_same

    torch.manual_seed(kernel * 10 + stride)
    for size in range(1, 13):  # below the kernel size the whole pad is explicit, taps are cropped
        x = torch.randn(2, 4, size, size + 1, requires_grad=True)
        w = torch.randn(4, 1, kernel, kernel, requires_grad=True)
        top, bottom = same_padding(size, kernel, stride)
        left, right = same_padding(size + 1, kernel, stride)
        want = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (left, right, top, bottom)), w, stride=stride, groups=4)
        got = conv2d_same(x, w, stride, groups=4)
        torch.testing.assert_close(got, want)
        up = torch.randn_like(want)
        want_grads = torch.autograd.grad(want, (x, w), up)
        for g, expected in zip(torch.autograd.grad(got, (x, w), up), want_grads):
            torch.testing.assert_close(g, expected)


@pytest.mark.parametrize("stride", [1, 2])
def test_subnet_conv_trains_and_exports_the_same_function(stride):
    """Training mode crops dead taps; eval (what exports) keeps the whole kernel: same numbers."""
    from edgenas.supernet.subnet import SameConv2d

    torch.manual_seed(stride)
    for size in (2, 3, 5, 9):
        conv = SameConv2d(4, 4, 7, stride, groups=4, in_size=size)
        x = torch.randn(2, 4, size, size)
        grads = []
        for training in (True, False):
            conv.train(training)
            conv.zero_grad()
            y = conv(x)
            (y * torch.arange(y.numel()).reshape(y.shape)).sum().backward()
            grads.append((y.detach(), conv.weight.grad.clone()))
        torch.testing.assert_close(grads[0][0], grads[1][0])
        torch.testing.assert_close(grads[0][1], grads[1][1])


def test_teacher_is_the_full_net_recalibrated_at_each_resolution():
    from edgenas.supernet.teacher import Teacher

    net = randomized_supernet("tiny-test")
    data = make_synthetic(seed=0)
    teacher = Teacher(net, data, calib_images=64)
    assert sorted(teacher.nets) == sorted(net.spec.resolutions)
    top = largest_arch(net.spec)
    for r in net.spec.resolutions:
        x = torch.rand(3, 1, r, r)
        expected = prepare_subnet(net, type(top)(r, top.width, top.stages), data, calib_images=64)(x)
        torch.testing.assert_close(teacher(x), expected)
        # Its own statistics, not the supernet's shared ones.
        assert not torch.allclose(teacher.nets[r].stem.bn.running_mean, net.stem_bn.running_mean[: teacher.nets[r].stem.bn.num_features])


@pytest.mark.slow
def test_init_from_continues_a_finished_run(tmp_path):
    data = make_synthetic(seed=0)
    spec = get_space("tiny-test")
    parent = _tiny_run(tmp_path, "parent")
    config = TrainConfig(phases=(Phase("expand", 1, 0.02, 3, sandwich=True),), batch_size=32, seed=3,
                         max_steps_per_epoch=2, threads=1, eval_images=32)
    before = load_supernet(parent)[0].state_dict()
    train_supernet(data, spec, tmp_path / "child", config, init_from=parent)
    net, meta = load_supernet(tmp_path / "child")
    assert meta["parent"]["config"]["seed"] == 1 and "space" not in meta["parent"]
    assert trained_epochs(meta) == 4 + 1
    assert len(meta["log"]) == 5  # the parent's four epochs, then this one
    # Continued from the parent's weights, not from a fresh init: close to them, not equal.
    name = "head.conv.weight" if "head.conv.weight" in before else next(iter(before))
    assert not torch.equal(net.state_dict()[name], before[name])
    fresh = OFASupernet(spec).state_dict()[name]
    assert (net.state_dict()[name] - before[name]).abs().mean() < (fresh - before[name]).abs().mean()


@pytest.mark.slow
def test_teacher_from_another_checkpoint_distils_the_elastic_phases(tmp_path):
    """``teacher_from`` replaces the run's own full net as the teacher: the checkpoint's teacher
    file is that net's weights, the loss differs from a run with its own teacher, and the
    description names where the teacher came from."""
    data = make_synthetic(seed=0)
    spec = get_space("tiny-test")
    parent, other = _tiny_run(tmp_path, "parent"), _tiny_run(tmp_path, "other", seed=7)
    config = TrainConfig(phases=(Phase("expand", 1, 0.02, 3, sandwich=True),), batch_size=32, seed=3,
                         max_steps_per_epoch=2, threads=1, eval_images=32)
    train_supernet(data, spec, tmp_path / "own", config, init_from=parent)
    train_supernet(data, spec, tmp_path / "taught", config, init_from=parent, teacher_from=other)
    taught = tmp_path / "taught"
    assert (taught / "teacher.safetensors").read_bytes() == (other / "supernet.safetensors").read_bytes()
    meta = load_supernet(taught)[1]
    assert meta["teacher"] == {"from": str(other), "sha256": weights_sha256(other), "epochs": 4}
    assert meta["log"][-1]["loss"] != load_supernet(tmp_path / "own")[1]["log"][-1]["loss"]
    with pytest.raises(CheckpointError, match="another space"):
        train_supernet(data, get_space("mcu-mbv2"), tmp_path / "bad", TrainConfig(phases=TINY_PHASES), teacher_from=other)


@pytest.mark.slow
def test_init_from_another_space_is_refused(tmp_path):
    parent = _tiny_run(tmp_path, "parent")
    data = make_synthetic(seed=0)
    with pytest.raises(CheckpointError, match="another space"):
        train_supernet(data, get_space("mcu-mbv2"), tmp_path / "child", TrainConfig(phases=TINY_PHASES), init_from=parent)


def test_cuda_request_without_a_gpu_is_a_clear_error(monkeypatch):
    from edgenas.errors import UsageError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(UsageError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(UsageError, match="not auto"):
        resolve_device("tpu")


def test_plan_sizes_are_the_feature_maps_the_subnet_computes():
    """plan_net's sizes (which the cost model, the profiler and the report read) match a real forward."""
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(4)
    for arch in (largest_arch(spec), smallest_arch(spec), sample_arch(spec, rng)):
        net = Subnet(spec, arch).eval()
        seen: list[int] = []
        hooks = [b.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[-1])) for b in net.blocks]
        hooks.append(net.head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[-1])))
        with torch.no_grad():
            net(torch.zeros(1, spec.in_channels, arch.resolution, arch.resolution))
        for h in hooks:
            h.remove()
        plan = plan_net(spec, arch)
        assert seen == [b.in_size for b in plan.blocks] + [plan.head_size]
        assert plan.blocks[0].in_size == plan.stem_size == -(-arch.resolution // spec.stem_stride)


@pytest.mark.slow
def test_from_scratch_run_resumes_to_the_same_weights(tmp_path):
    """A run stopped after one epoch and started again ends where an uninterrupted run ends; a
    resume directory of another run is refused."""
    from edgenas.errors import CheckpointError
    from edgenas.supernet import train_from_scratch

    data = make_synthetic(seed=0, n_train=256)
    spec = get_space("tiny-test")
    arch = smallest_arch(spec)
    kw = dict(batch_size=32, seed=3, label_smoothing=0.0, max_steps_per_epoch=4)
    whole = train_from_scratch(spec, arch, data, epochs=3, **kw)

    class Stop(Exception):
        pass

    def crash(epoch: int, loss: float) -> None:
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train_from_scratch(spec, arch, data, epochs=3, resume_dir=tmp_path, on_epoch=crash, **kw)
    seen: list[int] = []
    resumed = train_from_scratch(spec, arch, data, epochs=3, resume_dir=tmp_path,
                                 on_epoch=lambda e, loss: seen.append(e), **kw)
    assert seen == [2]
    assert all(torch.equal(p, q) for p, q in zip(whole.state_dict().values(), resumed.state_dict().values()))
    with pytest.raises(CheckpointError, match="epochs"):
        train_from_scratch(spec, arch, data, epochs=4, resume_dir=tmp_path, **kw)


def test_momentum_buffers_round_trip_by_name_and_refuse_another_model():
    from edgenas.supernet.checkpoint import momentum_buffers, restore_momentum

    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Conv2d(3, 1, 1)).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.rand(1, 2, 5, 5)).sum().backward()
    optimizer.step()
    saved = {k: v.clone().contiguous() for k, v in momentum_buffers(model, optimizer).items()}
    assert sorted(saved) == sorted(n for n, _ in model.named_parameters())
    fresh = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    restore_momentum(model, fresh, saved)
    for name, p in model.named_parameters():
        buf = fresh.state[p]["momentum_buffer"]
        torch.testing.assert_close(buf, saved[name])
        assert buf.is_contiguous(memory_format=torch.channels_last) == p.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(CheckpointError):
        restore_momentum(model, fresh, {"9.weight": torch.zeros(1)})


def test_in_place_distillation_takes_the_steps_largest_subnet_as_teacher(monkeypatch):
    """kd_from="top": the step's largest subnet learns from the labels alone and its detached
    outputs are the others' soft targets at its resolution; at a resolution it was not drawn at
    (the sandwich's smallest at 24 px) the targets are its outputs there, without a gradient.
    The frozen teacher is not called."""
    import edgenas.supernet.train as train_module
    from edgenas.supernet import TrainConfig
    from edgenas.supernet.train import train_step

    spec = get_space("tiny-test")
    torch.manual_seed(0)
    net = OFASupernet(spec).train()
    top, small = largest_arch(spec), smallest_arch(spec)
    low, high = min(spec.resolutions), max(spec.resolutions)
    archs = [replace(top, resolution=high), replace(small, resolution=high), replace(small, resolution=low)]
    outputs, pairs = [], []
    forward = net.forward

    def recording_forward(x):
        out = forward(x)
        outputs.append((x.shape[-1], out))
        return out

    def recording_kd(student, soft):
        pairs.append((student, soft))
        return (student * 0).sum()

    monkeypatch.setattr(net, "forward", recording_forward)
    monkeypatch.setattr(train_module, "kd_loss", recording_kd)

    def teacher(_x):
        raise AssertionError("the frozen teacher must not be called in place")

    x, y = torch.rand(8, spec.in_channels, 28, 28), torch.randint(0, spec.num_classes, (8,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
    train_step(net, teacher, optimizer, x, y, archs, torch.Generator().manual_seed(1), TrainConfig(kd_from="top"))
    # forwards: top at `high` (with gradient), small at `high`, top at `low` (no gradient), small at `low`
    assert [r for r, _ in outputs] == [high, high, low, low]
    assert outputs[0][1].requires_grad and not outputs[2][1].requires_grad
    assert len(pairs) == 2  # the top has no soft targets of its own
    assert pairs[0][0] is outputs[1][1] and torch.equal(pairs[0][1], outputs[0][1].detach())
    assert not pairs[0][1].requires_grad
    assert pairs[1][0] is outputs[3][1] and pairs[1][1] is outputs[2][1]
    with pytest.raises(UsageError, match="distillation source"):
        TrainConfig(kd_from="largest")


def test_eval_batches_shrink_with_resolution_and_keep_every_class():
    from edgenas.supernet import predict_classes
    from edgenas.supernet.evaluate import MAX_EVAL_BATCH, eval_batch_size

    assert (eval_batch_size(48), eval_batch_size(32), eval_batch_size(24)) == (100, 225, 400)
    assert eval_batch_size(8) == MAX_EVAL_BATCH and eval_batch_size(4096) == 1
    net = randomized_supernet()
    arch = largest_arch(net.spec)
    net.set_active(arch)
    data = make_synthetic(n_train=8, n_val=8, n_test=37, seed=3)
    # batches of 5 split the 37 images unevenly; order and count must not depend on the split
    assert torch.equal(predict_classes(net, data.test, arch.resolution, 5),
                       predict_classes(net, data.test, arch.resolution))


def test_accuracy_at_the_images_own_size_takes_non_square_inputs():
    """resolution None: log-mel 49x40 images go in as they are (the baselines' and DS-CNN's path)."""
    from edgenas.data import ImageSet
    from edgenas.supernet import accuracy, predict_classes
    from edgenas.supernet.evaluate import eval_batch_size

    assert eval_batch_size(49, 40) == 100 * 48 * 48 // (49 * 40)
    rng = np.random.default_rng(0)
    images = ImageSet(rng.integers(0, 256, (23, 49, 40, 1), dtype=np.uint8), rng.integers(0, 3, 23))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(49 * 40, 3))
    model.train()
    by_hand = model(torch.from_numpy(images.x).permute(0, 3, 1, 2).float() / 255).argmax(1)
    assert torch.equal(predict_classes(model, images, None, 4), by_hand)
    assert accuracy(model, images, None) == float((by_hand.numpy() == images.y).mean())
    assert model.training  # the caller's mode comes back
