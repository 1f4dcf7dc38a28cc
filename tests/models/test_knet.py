"""K-Net modules: shapes, the kernel maths on hand-made examples, targets, losses and an overfit."""
import math
from pathlib import Path

import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData

from mmvps.models.heads import (ConvKernelHead, KernelIterHead, KernelUpdateHead, KernelUpdator,
                                assemble_group_features, get_kernel_targets, get_panoptic_gt)
from mmvps.models.necks import SemanticFPN
from mmvps.registry import MODELS, TASK_UTILS
from mmvps.utils import register_all_modules

TINY_CONFIG = Path(__file__).resolve().parents[2] / 'configs/_base_/models/knet_r18_tiny.py'
NUM_THINGS, NUM_STUFF = 3, 3  # the tiny config's classes


@pytest.fixture(scope='module', autouse=True)
def _register_and_single_thread():
    """One intra-op thread: these small models gain nothing from more, and on a loaded 2-core
    machine (parallel test workers) extra threads only contend."""
    register_all_modules()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.init_weights()
    return model


def make_sample(height=64, width=96, pad=(64, 96), with_ids=True):
    """Two things (labels 0 and 2), stuff 3 (top) and 4 (bottom), a crowd patch (thing 1 in the
    semantic map, no instance) and a void corner."""
    sem = torch.full((height, width), 3, dtype=torch.long)
    sem[height // 2:] = 4
    masks = torch.zeros(2, height, width, dtype=torch.bool)
    masks[0, 8:28, 10:40] = True
    masks[1, 36:60, 50:90] = True
    sem[masks[0]] = 0
    sem[masks[1]] = 2
    sem[40:48, 4:12] = 1  # crowd
    sem[:4, -4:] = 255
    data_sample = DetDataSample(
        metainfo=dict(
            img_path=f'frame_{height}x{width}.jpg',
            img_shape=(height, width),
            ori_shape=(height, width),
            batch_input_shape=pad))
    data_sample.gt_instances = InstanceData(
        labels=torch.tensor([0, 2]), masks=BitmapMasks(masks.numpy(), height, width))
    if with_ids:
        data_sample.gt_instances.instances_ids = torch.tensor([11, 12])
    data_sample.gt_sem_seg = PixelData(sem_seg=sem[None])
    return data_sample, sem, masks


def make_image(sem, masks):
    """An image whose colours follow the segments, so that a model can fit it."""
    torch.manual_seed(1)
    img = torch.zeros(3, *sem.shape)
    img[0][sem == 3] = 1.0
    img[1][sem == 4] = 1.0
    img[2][masks[0]] = 1.0
    img[:, masks[1]] = 0.5
    return img + 0.1 * torch.randn_like(img)


# ---------------------------------------------------------------- neck


def test_semantic_fpn_fuses_levels_to_stride_4():
    neck = SemanticFPN(in_channels=16, feat_channels=8, out_channels=12, num_levels=4,
                       positional_encoding=dict(type='SinePositionalEncoding', num_feats=8,
                                                normalize=True),
                       norm_cfg=dict(type='GN', num_groups=4))
    feats = [torch.randn(2, 16, 16 // 2**i, 24 // 2**i) for i in range(4)]
    out = neck(feats)
    assert out.shape == (2, 12, 16, 24)
    # sizes not divisible by the top stride still give the stride-4 size
    odd = [torch.randn(1, 16, s, s + 2) for s in (15, 8, 4, 2)]
    assert neck(odd).shape == (1, 12, 15, 17)
    with pytest.raises(ValueError, match='needs 4 levels'):
        neck(feats[:3])


def test_semantic_fpn_positional_encoding_on_top_level():
    kwargs = dict(in_channels=16, feat_channels=8, out_channels=8, num_levels=2, norm_cfg=None)
    torch.manual_seed(0)
    with_pos = SemanticFPN(
        positional_encoding=dict(type='SinePositionalEncoding', num_feats=8, normalize=True),
        **kwargs)
    torch.manual_seed(0)
    without = SemanticFPN(positional_encoding=None, **kwargs)
    zeros = [torch.zeros(1, 16, 8, 8), torch.zeros(1, 16, 4, 4)]
    # zero input: only the positional encoding makes the output vary over space
    assert without(zeros).std() == 0
    assert with_pos(zeros).std() > 0
    with pytest.raises(ValueError, match='num_feats=8'):
        SemanticFPN(positional_encoding=dict(type='SinePositionalEncoding', num_feats=4),
                    **kwargs)


# ---------------------------------------------------------------- kernel maths


def test_group_feature_assembling_hand_example():
    feats = torch.tensor([[[[1., 2.], [3., 4.]], [[0., 1.], [0., 1.]]]])  # [1, C=2, 2, 2]
    masks = torch.tensor([[[[30., -30.], [-30., -30.]],  # sigmoid ~ only the top-left pixel
                           [[0., 0.], [0., 0.]]]])  # sigmoid 0.5 everywhere
    out = assemble_group_features(masks, feats)
    assert out.shape == (1, 2, 2)
    torch.testing.assert_close(out, torch.tensor([[[1., 0.], [5., 1.]]]))
    with pytest.raises(ValueError, match='resolution'):
        assemble_group_features(masks, torch.zeros(1, 2, 4, 4))


def _layer_norm(values):
    mean = sum(values) / len(values)
    var = sum((v - mean)**2 for v in values) / len(values)
    return [(v - mean) / math.sqrt(var + 1e-5) for v in values]


def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_kernel_updator_hand_example():
    """K~ = G^F * psi_3(F^K) + G^K * psi_4(K) with hand-set projections on 2 channels."""
    updator = KernelUpdator(in_channels=2, feat_channels=2, out_channels=3)
    eye, swap = torch.eye(2), torch.tensor([[0., 1.], [1., 0.]])
    with torch.no_grad():
        for layer in (updator.feature_layer, updator.kernel_layer):  # phi | psi_3, phi | psi_4
            layer.weight.copy_(torch.cat([eye, eye]))
            layer.bias.zero_()
        for gate in (updator.feature_gate, updator.kernel_gate):
            gate.weight.copy_(swap)
            gate.bias.zero_()
        updator.fc_layer.weight.copy_(torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
        updator.fc_layer.bias.zero_()
    group_feats, kernels = [3., 1.], [4., 2.]
    gate_feats = [f * k for f, k in zip(group_feats, kernels)]  # [12, 2]
    gates = [_sigmoid(v) for v in _layer_norm(gate_feats[::-1])]  # both gates swap channels
    feature_term = _layer_norm(group_feats)
    kernel_term = _layer_norm(kernels)
    updated = [g * f + g * k for g, f, k in zip(gates, feature_term, kernel_term)]
    projected = _layer_norm([updated[0], updated[1], updated[0] + updated[1]])
    expected = torch.tensor([max(v, 0.) for v in projected])
    out = updator(torch.tensor([group_feats]), torch.tensor([kernels]))
    torch.testing.assert_close(out[0], expected, atol=1e-4, rtol=1e-4)


def test_kernel_updator_matches_formula():
    torch.manual_seed(0)
    updator = KernelUpdator(in_channels=8, feat_channels=4)
    group_feats, kernels = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    weight, bias = updator.feature_layer.weight, updator.feature_layer.bias
    phi_1 = group_feats @ weight[:4].T + bias[:4]
    psi_3 = group_feats @ weight[4:].T + bias[4:]
    weight, bias = updator.kernel_layer.weight, updator.kernel_layer.bias
    phi_2 = kernels @ weight[:4].T + bias[:4]
    psi_4 = kernels @ weight[4:].T + bias[4:]
    interaction = phi_1 * phi_2
    gate_f = updator.feature_gate_norm(updator.feature_gate(interaction)).sigmoid()
    gate_k = updator.kernel_gate_norm(updator.kernel_gate(interaction)).sigmoid()
    new = gate_f * updator.feature_out_norm(psi_3) + gate_k * updator.kernel_out_norm(psi_4)
    expected = torch.relu(updator.fc_norm(updator.fc_layer(new)))
    out = updator(group_feats, kernels)
    assert out.shape == (2, 5, 8)
    torch.testing.assert_close(out, expected)


def test_conv_kernel_head_masks_are_kernels_times_features():
    head = ConvKernelHead(num_proposals=5, num_thing_classes=2, num_stuff_classes=3,
                          in_channels=8, out_channels=8, norm_cfg=None)
    head.init_weights()
    x = torch.randn(2, 8, 6, 10)
    kernels, feats, mask_preds = head(x)
    assert kernels.shape == (2, 8, 8) and feats.shape == (2, 8, 6, 10)
    assert mask_preds.shape == (2, 8, 6, 10)
    loc_feats, seg_feats = head.loc_convs(x), head.seg_convs(x)
    torch.testing.assert_close(feats, loc_feats + seg_feats)
    torch.testing.assert_close(mask_preds[:, :5],
                               torch.einsum('bnc,bchw->bnhw', kernels[:, :5], loc_feats))
    torch.testing.assert_close(mask_preds[:, 5:],
                               torch.einsum('bnc,bchw->bnhw', kernels[:, 5:], seg_feats))
    assert abs(kernels.std().item() - 1) < 0.3  # K-Net's unit-std kernel initialization


def test_kernel_update_head_shapes_and_dynamic_masks():
    head = KernelUpdateHead(num_classes=5, in_channels=16, num_heads=2, feedforward_channels=32,
                            kernel_updator_cfg=dict(type='KernelUpdator', in_channels=16,
                                                    feat_channels=8))
    head.init_weights()
    feats, kernels, masks = torch.randn(2, 16, 6, 10), torch.randn(2, 7, 16), torch.randn(
        2, 7, 6, 10)
    cls_scores, mask_preds, new_kernels = head(feats, kernels, masks)
    assert cls_scores.shape == (2, 7, 5)
    assert mask_preds.shape == (2, 7, 6, 10) and new_kernels.shape == (2, 7, 16)
    mask_kernels = head.fc_mask(head.mask_fcs(new_kernels))
    torch.testing.assert_close(
        mask_preds, torch.einsum('bnc,bchw->bnhw', mask_kernels, head.feat_transform(feats)))
    # Focal-loss prior: initial class probabilities are 0.01
    torch.testing.assert_close(head.fc_cls.bias.sigmoid(), torch.full((5, ), 0.01))


@MODELS.register_module(force=True)
class _RecordingFusion(torch.nn.Module):
    """Test double for Video K-Net's kernel fusion: records its inputs, returns the previous
    kernels."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, kernels, previous_kernels, feats):
        self.calls.append((kernels.shape, previous_kernels.shape, feats.shape))
        return previous_kernels


def _iter_head(**kwargs):
    return KernelIterHead(
        num_stages=3,
        stage_loss_weights=(1, 1, 1),
        num_proposals=4,
        num_thing_classes=2,
        num_stuff_classes=2,
        mask_head=dict(type='KernelUpdateHead', num_classes=4, in_channels=8, num_heads=2,
                       feedforward_channels=16,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        **kwargs)


def test_kernel_iter_head_stages_and_kernel_fusion_hook():
    head = _iter_head(kernel_fusion=dict(type='_RecordingFusion'))
    feats, kernels, masks = torch.randn(1, 8, 5, 7), torch.randn(1, 6, 8), torch.randn(1, 6, 5, 7)
    outputs = head(feats, kernels, masks)
    assert len(outputs) == 3 and head.kernel_fusion.calls == []
    for cls_scores, mask_preds, stage_kernels in outputs:
        assert cls_scores.shape == (1, 6, 4)
        assert mask_preds.shape == (1, 6, 5, 7) and stage_kernels.shape == (1, 6, 8)
    previous = torch.randn(1, 6, 8)
    fused = head(feats, kernels, masks, previous_kernels=previous)
    # called once, at the start of the last stage, with [B, K, C] kernels and the features
    assert head.kernel_fusion.calls == [((1, 6, 8), (1, 6, 8), (1, 8, 5, 7))]
    torch.testing.assert_close(fused[1][1], outputs[1][1])  # earlier stages untouched
    assert not torch.allclose(fused[2][1], outputs[2][1])
    # without a fusion module previous kernels change nothing
    plain = _iter_head()
    torch.testing.assert_close(
        plain(feats, kernels, masks, previous_kernels=previous)[2][1],
        plain(feats, kernels, masks)[2][1])


def test_kernel_iter_head_rejects_inconsistent_config():
    with pytest.raises(ValueError, match='predicts 4 classes'):
        KernelIterHead(num_stages=1, stage_loss_weights=(1, ), num_thing_classes=2,
                       num_stuff_classes=3,
                       mask_head=dict(type='KernelUpdateHead', num_classes=4, in_channels=8,
                                      num_heads=2, feedforward_channels=16,
                                      kernel_updator_cfg=dict(type='KernelUpdator',
                                                              in_channels=8, feat_channels=8)))
    with pytest.raises(ValueError, match='2 stage loss weights for 3 stages'):
        KernelIterHead(num_stages=3, stage_loss_weights=(1, 1))


# ---------------------------------------------------------------- targets


def _hand_sample():
    """8x8 image padded to 10x8: thing 0 rows 0-1, thing 1 rows 2-3, stuff 3 rows 4-5, crowd
    (thing 1 without instance) row 6, void row 7."""
    sem = torch.full((8, 8), 3, dtype=torch.long)
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[0, 0:2] = True
    masks[1, 2:4] = True
    sem[0:2], sem[2:4], sem[6], sem[7] = 0, 1, 1, 255
    data_sample = DetDataSample(
        metainfo=dict(img_path='hand.png', img_shape=(8, 8), batch_input_shape=(10, 8)))
    data_sample.gt_instances = InstanceData(
        labels=torch.tensor([0, 1]), masks=BitmapMasks(masks.numpy(), 8, 8),
        instances_ids=torch.tensor([5, 9]))
    data_sample.gt_sem_seg = PixelData(sem_seg=sem[None].to(torch.uint8))
    return data_sample


def test_panoptic_gt_things_stuff_crowd_void_padding():
    gt = get_panoptic_gt(_hand_sample(), num_thing_classes=2, num_stuff_classes=2,
                         mask_size=(10, 8))
    assert gt.labels.tolist() == [0, 1, 3]
    assert gt.instances_ids.tolist() == [5, 9, -1]
    rows = [gt.masks[i].all(1).nonzero().squeeze(1).tolist() for i in range(3)]
    assert rows == [[0, 1], [2, 3], [4, 5]]
    assert gt.masks.sum().item() == 6 * 8  # masks are full rows, nothing else
    ignore_rows = gt.ignore_mask.all(1).nonzero().squeeze(1).tolist()
    assert ignore_rows == [6, 7, 8, 9]  # crowd, void, padding
    assert gt.ignore_mask.sum().item() == 4 * 8

    small = get_panoptic_gt(_hand_sample(), 2, 2, mask_size=(5, 4))
    assert small.masks.shape == (3, 5, 4) and small.ignore_mask.shape == (5, 4)
    assert small.masks[:, :3].sum(0).eq(1).all()  # each of the first 3 rows in one segment
    assert small.ignore_mask[3:].all() and not small.ignore_mask[:3].any()


def test_panoptic_gt_without_instance_ids_and_tensor_masks():
    data_sample = _hand_sample()
    masks = data_sample.gt_instances.masks.to_tensor(torch.uint8, 'cpu')
    data_sample.gt_instances = InstanceData(labels=torch.tensor([0, 1]), masks=masks)
    gt = get_panoptic_gt(data_sample, 2, 2, (10, 8))
    assert gt.instances_ids.tolist() == [-1, -1, -1]
    assert gt.labels.tolist() == [0, 1, 3]


@pytest.mark.parametrize('corrupt, message', [
    (lambda ds: setattr(ds.gt_instances, 'labels', torch.tensor([0, 3])),
     r'hand.png: thing labels \[3\] outside 0..1'),
    (lambda ds: ds.gt_sem_seg.sem_seg.__setitem__((0, 0, 0), 7),
     r'hand.png: semantic labels \[7\] are neither a class'),
    (lambda ds: ds.__delattr__('gt_sem_seg'), 'hand.png: no gt_sem_seg'),
    (lambda ds: setattr(ds, 'gt_sem_seg', PixelData(sem_seg=torch.zeros(1, 6, 8))),
     r'hand.png: semantic map \(6, 8\) and instance masks \(8, 8\) differ'),
    (lambda ds: setattr(ds, 'gt_sem_seg', PixelData(sem_seg=torch.zeros(1, 12, 8))),
     r'hand.png: semantic map \(12, 8\) larger than the batch input'),
])
def test_panoptic_gt_bad_input_names_the_image(corrupt, message):
    data_sample = _hand_sample()
    corrupt(data_sample)
    with pytest.raises(ValueError, match=message):
        get_panoptic_gt(data_sample, 2, 2, (10, 8))


def test_kernel_targets_hungarian_things_fixed_stuff():
    gt = get_panoptic_gt(_hand_sample(), 2, 2, (10, 8))
    # 3 thing kernels: kernel 0 predicts thing 1, kernel 2 predicts thing 0, kernel 1 nothing;
    # stuff kernels 3 (class 2, absent) and 4 (class 3)
    mask_preds = torch.full((5, 10, 8), -10.)
    mask_preds[0, 2:4] = 10.
    mask_preds[2, 0:2] = 10.
    assigner = TASK_UTILS.build(
        dict(type='HungarianAssigner', match_costs=[
            dict(type='DiceCost', weight=4.0, pred_act=True),
            dict(type='CrossEntropyLossCost', weight=1.0, use_sigmoid=True)
        ]))
    sampler = TASK_UTILS.build(dict(type='MaskPseudoSampler'))
    targets = get_kernel_targets(mask_preds, None, gt, assigner, sampler, num_proposals=3,
                                 num_thing_classes=2, num_classes=4)
    assert targets.assigned_gt_inds.tolist() == [1, -1, 0, -1, 2]
    assert targets.labels.tolist() == [1, 4, 0, 4, 3]
    assert targets.label_weights.tolist() == [[1, 1, 0, 0]] * 3 + [[0, 0, 1, 0], [0, 0, 0, 1]]
    torch.testing.assert_close(targets.mask_targets[0], gt.masks[1])
    torch.testing.assert_close(targets.mask_targets[4], gt.masks[2])
    assert targets.mask_targets[[1, 3]].sum() == 0


# ---------------------------------------------------------------- losses and training


def test_knet_losses_positive_finite_and_association_outputs():
    model = tiny_model()
    samples = [make_sample()[0], make_sample(with_ids=False)[0]]
    losses, results = model.loss_and_kernels(torch.randn(2, 3, 64, 96), samples)
    expected_keys = {'loss_init_mask', 'loss_init_dice'} | {
        f's{i}.loss_{name}' for i in range(3) for name in ('cls', 'mask', 'dice')
    }
    assert set(losses) == expected_keys
    for name, value in losses.items():
        assert torch.isfinite(value) and value > 0, name
    num_kernels = 30 + NUM_STUFF
    for result, ids in zip(results, ([11, 12], [-1, -1])):
        assert result.kernels.shape == (num_kernels, 64) and result.kernels.requires_grad
        assert result.mask_preds.shape == (num_kernels, 16, 24)
        assert result.cls_scores.shape == (num_kernels, NUM_THINGS + NUM_STUFF)
        assigned = result.assigned_gt_inds
        # things 0, 1 matched to one thing kernel each; stuff 3 and 4 to stuff kernels 30, 31
        assert sorted(assigned[:30][assigned[:30] >= 0].tolist()) == [0, 1]
        assert assigned[30:].tolist() == [2, 3, -1]
        matched = result.assigned_instances_ids[assigned.eq(0) | assigned.eq(1)]
        assert sorted(matched.tolist()) == sorted(ids)
        assert (result.assigned_instances_ids[assigned < 0] == -1).all()
        assert (result.assigned_instances_ids[30:] == -1).all()
    sum(losses.values()).backward()
    assert model.kernel_head.thing_kernels.weight.grad.abs().sum() > 0


def test_knet_loss_without_things():
    model = tiny_model()
    data_sample, sem, _ = make_sample()
    data_sample.gt_instances = InstanceData(
        labels=torch.zeros(0, dtype=torch.long), masks=BitmapMasks([], 64, 96))
    sem = torch.where(sem < NUM_THINGS, torch.full_like(sem, 3), sem)
    data_sample.gt_sem_seg = PixelData(sem_seg=sem[None])
    losses = model.loss(torch.randn(1, 3, 64, 96), [data_sample])
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['s0.loss_cls'] > 0 and losses['s0.loss_mask'] > 0


def test_knet_overfits_one_image():
    model = tiny_model()
    data_sample, sem, masks = make_sample()
    img = make_image(sem, masks)[None]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    history = []
    for _ in range(30):
        loss = sum(model.loss(img, [data_sample]).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.3 * history[0], history


def test_knet_extract_feat_and_predict_outputs():
    model = tiny_model().eval()
    data_sample, _, _ = make_sample()
    data_sample.set_metainfo(dict(ori_shape=(32, 48)))  # the image was resized 2x
    img = torch.randn(1, 3, 64, 96)
    assert model.extract_feat(img).shape == (1, 64, 16, 24)
    with torch.no_grad():
        stages = model(img, mode='tensor')
        (result, ) = model.predict(img, [data_sample])
    assert len(stages) == 3
    pan = result.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 32, 48) and pan.dtype == torch.long
    sem, inst = pan % 1000, pan // 1000
    num_classes = NUM_THINGS + NUM_STUFF
    assert sem.max() <= num_classes
    assert (inst[sem >= NUM_THINGS] == 0).all()  # stuff and void carry no instance
    assert result.pred_kernels.shape == (30 + NUM_STUFF, 64)
    things = result.pred_instances
    assert (things.kernel_inds < 30).all()
    for label, instance_id in zip(things.labels.tolist(), things.instance_ids.tolist()):
        assert (pan == label + 1000 * instance_id).any()
