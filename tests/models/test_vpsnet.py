"""The VPSNet video model: configs, training losses, online inference on synthetic videos."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmvps.datasets import generate_synthetic_vps
from mmvps.registry import DATA_SAMPLERS, DATASETS, MODELS
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs' / 'vpsnet'
CPU_DEFAULT = CONFIG_DIR / 'vpsnet-fusetrack_r18_synthetic.py'


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('vpsnet') / 'synthetic_vps'
    generate_synthetic_vps(str(root), num_train_videos=2, num_val_videos=2, num_frames=5,
                           seed=3)
    return root


def load_cfg(path, root=None):
    register_all_modules()
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(path))
    if root is not None:
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            loader.dataset.data_root = str(root)
    return cfg


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('config', sorted(p.name for p in CONFIG_DIR.glob('*.py')))
def test_every_vpsnet_config_builds(config):
    """Each config builds its model (meta device) with consistent heads, an online test
    pipeline (clips of one frame) and key + reference training samples."""
    cfg = load_cfg(CONFIG_DIR / config)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.num_classes == model.semantic_head.num_classes
    assert model.roi_head.bbox_head.num_classes == model.panoptic_head.num_things
    if 'coco-panoptic' in config:  # image pretraining: images are one-frame clips
        assert model.extra_neck is not None and not model.needs_reference
        assert (model.num_things, model.num_classes) == (80, 133)
        assert type(model.data_preprocessor).__name__ == 'DetDataPreprocessor'
        assert cfg.train_dataloader.dataset.type == 'CocoPanopticDataset'
        assert cfg.train_dataloader.dataset.pipeline[-1].type == 'PackDetInputs'
        return
    assert cfg.test_pipeline[0].type == 'VideoClipSample'
    assert cfg.test_pipeline[0].clip_length == cfg.test_dataloader.sampler.clip_length == 1
    assert cfg.train_pipeline[0].type == 'UniformRefFrameSample'
    tracker = type(model.tracker).__name__
    if model.track_head is None:
        assert tracker in ('PerFrameIdTracker', 'ClassSortTracker', 'IoUMatchTracker')
    # the baselines swap only the tracker of a trained FuseTrack model (its weights load)
    if 'cls-sort' in config or 'iou-match' in config:
        assert model.track_head is not None and tracker != 'VPSNetTracker'
    elif model.track_head is not None:
        assert tracker == 'VPSNetTracker'
    if 'cityscapes-vps' in config:
        assert cfg.test_evaluator.windows == 'cityscapes_vps'
        assert model.num_classes == 19 and model.panoptic_head.stuff_area_limit == 2048


def test_training_losses_and_gradients(synthetic_root):
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    data = model.data_preprocessor(pseudo_collate([dataset[(0, 1)], dataset[(1, 3)]]), True)
    assert data['inputs'].shape[:3] == (2, 2, 3)
    losses = model.loss(data['inputs'], data['data_samples'])
    expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'acc', 'loss_bbox', 'loss_mask',
                'loss_segm', 'loss_pano', 'loss_match', 'match_accuracy'}
    assert set(losses) == expected
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total) and log_vars['match_accuracy'] >= 0
    total.backward()
    for param in (model.backbone.conv1.weight, model.track_head.fcs[0].weight,
                  model.semantic_head.conv_logits.weight, model.roi_head.mask_head.conv_logits
                  .weight, model.extra_neck.refine.conv.weight):
        assert param.grad is not None and param.grad.abs().sum() > 0
    # the fusion neck (attention and residual-flow refiner) learns from the task losses
    for part in (model.extra_neck.fusion, model.extra_neck.flow_refiner):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_samples_without_things_train(synthetic_root):
    """A crop that keeps no thing (key and reference): zero box/mask/match terms, finite
    semantic and panoptic terms."""
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    data = model.data_preprocessor(pseudo_collate([dataset[(0, 1)]]), True)
    for frame in data['data_samples'][0]:
        frame.gt_instances = frame.gt_instances[:0]
    total, log_vars = model.parse_losses(model.loss(data['inputs'], data['data_samples']))
    assert torch.isfinite(total)
    assert log_vars['loss_mask'] == log_vars['loss_match'] == log_vars['loss_bbox'] == 0
    assert log_vars['loss_segm'] > 0 and log_vars['loss_pano'] > 0
    total.backward()


def test_few_steps_reduce_the_losses(synthetic_root):
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    data = model.data_preprocessor(pseudo_collate([dataset[(0, 2)]]), True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history = []
    for _ in range(15):
        torch.manual_seed(1)  # the same sampled anchors and RoIs every step
        losses = model.loss(data['inputs'], copy.deepcopy(data['data_samples']))
        total, log_vars = model.parse_losses(losses)
        history.append(log_vars)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    for name in ('loss_segm', 'loss_pano', 'loss_cls', 'loss_mask'):
        assert history[-1][name] < 0.7 * history[0][name], name


def run_video_inference(model, cfg, check):
    test_cfg = copy.deepcopy(cfg.test_dataloader)
    dataset = DATASETS.build(test_cfg.dataset)
    sampler = DATA_SAMPLERS.build(dict(test_cfg.sampler, dataset=dataset))
    seen = {}
    for index in sampler:
        with torch.no_grad():
            (sample, ) = model.test_step(pseudo_collate([dataset[index]]))
        assert len(sample) == 1
        frame = sample[0]
        seen.setdefault(frame.metainfo['video_name'], []).append(frame.metainfo['frame_id'])
        check(model, frame)
    return seen


@pytest.mark.parametrize('config', ['vpsnet-fusetrack_r18_synthetic.py',
                                    'vpsnet-fusetrack_r18_synthetic_iou-match.py',
                                    'vpsnet-base_r18_synthetic.py'])
def test_online_inference_predicts_every_frame_once(synthetic_root, config):
    """Whole synthetic videos through the real test pipeline and sampler, one frame per step:
    every frame once and in order, maps at the original size in the project's convention;
    the only state is the previous frame's FPN features and the tracker's memory."""
    cfg = load_cfg(CONFIG_DIR / config, synthetic_root)
    # untrained weights score about 1 / (C + 1): let every box through to exercise the chain
    cfg.model.roi_head.panoptic_cfg.score_thr = 0.0
    cfg.model.panoptic_head.stuff_area_limit = 1
    model = build(cfg).eval()
    num_things, num_classes = model.num_things, model.num_classes
    states = []

    def check(model, frame):
        pan = frame.pred_panoptic_seg.sem_seg[0]
        assert pan.shape == tuple(frame.metainfo['ori_shape'][:2])
        labels, ids = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
        assert labels.max() <= num_classes
        assert not ids[labels >= num_things].any()
        assert set(frame.pred_track_instances.instances_id.tolist()) == \
            set(ids[ids > 0].unique().tolist())
        assert (ids[labels < num_things] > 0).all()  # every thing pixel has an id
        cached = model._prev_raw
        assert len(cached) == 5 and cached[0].shape[0] == 1  # one frame
        states.append((frame.metainfo['frame_id'], len(ids.unique())))

    seen = run_video_inference(model, cfg, check)
    assert seen == {name: list(range(5)) for name in seen} and len(seen) == 2
    assert any(num > 1 for _, num in states)  # things were predicted


def test_cached_reference_equals_recomputing_the_previous_frame(synthetic_root):
    """At frame t the fusion neck gets frame t-1's raw FPN features (the first frame its own);
    caching them gives the same as recomputing them."""
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).eval()
    calls = []

    class RecordingNeck(torch.nn.Module):
        def forward(self, key_feats, ref_feats=None, key_img=None, ref_img=None):
            calls.append((key_img.clone(), ref_img.clone(), ref_feats[0].clone()))
            return key_feats

    model.extra_neck = RecordingNeck()
    model.with_fusion = True
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(dict(cfg.test_dataloader.sampler, dataset=dataset))
    indices = list(sampler)[:3]
    with torch.no_grad():
        for index in indices:
            model.test_step(pseudo_collate([dataset[index]]))
        imgs = [model.data_preprocessor(pseudo_collate([dataset[i]]), False)['inputs'][:, 0]
                for i in indices]
        assert torch.equal(calls[0][1], imgs[0])  # first frame: itself
        for t in (1, 2):
            assert torch.equal(calls[t][0], imgs[t]) and torch.equal(calls[t][1], imgs[t - 1])
            assert torch.allclose(calls[t][2], model.extract_raw(imgs[t - 1])[0])


def test_video_reset_and_bad_inputs(synthetic_root):
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).eval()
    model._prev_raw = (torch.zeros(1), )
    model.tracker.update(0, __import__('mmengine').structures.InstanceData(
        bboxes=torch.zeros(1, 4), labels=torch.zeros(1, dtype=torch.long),
        scores=torch.ones(1), embeds=torch.zeros(1, 128)))
    model.reset_video('another')
    assert model._prev_raw is None and model.tracker.memory_size == 0
    with pytest.raises(ValueError, match='track_feats'):
        MODELS.build(dict(cfg.model, track_feats='both'))
    with pytest.raises(ValueError, match='needs a track_head'):
        MODELS.build(dict(cfg.model, track_head=None))
    bad = copy.deepcopy(cfg.model)
    bad.panoptic_head.num_things = 2
    with pytest.raises(ValueError, match='thing classes'):
        MODELS.build(bad)


def test_converted_released_fusetrack_loads_strictly_into_vpsnet():
    """A state dict with every key and shape of the released Cityscapes FuseTrack checkpoint,
    converted by tools/model_converters/vpsnet_to_mmvps.py, fills the whole VPSNet of the
    FlowNet2 config, strictly (meta tensors: no memory)."""
    import sys
    sys.path.insert(0, str(REPO / 'tests' / 'tools'))
    from test_vpsnet_converter import load_converter, released_layout
    converted, _ = load_converter().convert_vpsnet(released_layout(), 'fusetrack.pth')
    cfg = load_cfg(CONFIG_DIR / 'vpsnet-fusetrack_r50_fpn_flownet2_8xb1-28.8k_cityscapes-vps.py')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected
    model.load_state_dict(converted, strict=True, assign=True)


def test_iou_match_with_zero_flow_equals_plain_mask_iou(synthetic_root):
    """IoU-Match through the model's flow estimator: zero flow gives the unwarped matching."""
    outputs = []
    for use_flow in (False, True):
        cfg = load_cfg(CONFIG_DIR / 'vpsnet-fusetrack_r18_synthetic_iou-match.py', synthetic_root)
        cfg.model.roi_head.panoptic_cfg.score_thr = 0.0
        cfg.model.tracker.use_flow = use_flow
        if use_flow:
            cfg.model.flow_estimator = dict(type='ZeroFlow')
        model = build(cfg).eval()
        maps = []
        run_video_inference(model, cfg, lambda m, frame: maps.append(
            frame.pred_panoptic_seg.sem_seg.clone()))
        outputs.append(torch.stack(maps))
    assert torch.equal(outputs[0], outputs[1])
    assert (outputs[0] // INSTANCE_OFFSET).max() > 0


def _key_frames_as_images(model, dataset, indices):
    """The key frames of training samples as ``[B, 3, H, W]`` images with their
    ``DetDataSample``s, and the preprocessed two-frame samples."""
    data = model.data_preprocessor(pseudo_collate([dataset[i] for i in indices]), True)
    keys = [int(sample.key_frames_inds[0]) for sample in data['data_samples']]
    images = torch.stack([clip[k] for clip, k in zip(data['inputs'], keys)])
    samples = [copy.deepcopy(clip[k]) for clip, k in zip(data['data_samples'], keys)]
    return images, samples, data, keys


def test_images_train_as_clips_that_are_their_own_reference(synthetic_root):
    """``[B, 3, H, W]`` images with DetDataSamples (COCO pretraining) give the losses of the
    two-frame sample whose reference frame is replaced by its key frame (fusion and the track
    loss then see the key frame as the reference)."""
    cfg = load_cfg(CPU_DEFAULT, synthetic_root)
    model = build(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    images, samples, data, keys = _key_frames_as_images(model, dataset, [(0, 1), (1, 3)])
    inputs, clips = data['inputs'].clone(), data['data_samples']
    for b, (clip, k) in enumerate(zip(clips, keys)):
        ref = int(clip.ref_frames_inds[0])
        inputs[b, ref] = inputs[b, k]
        frames = list(clip.video_data_samples)
        frames[ref] = copy.deepcopy(frames[k])
        clip.video_data_samples = frames
    torch.manual_seed(1)
    image_losses = model.loss(images, samples)
    torch.manual_seed(1)
    clip_losses = model.loss(inputs, clips)
    assert set(image_losses) == set(clip_losses) and 'loss_match' in image_losses
    for name, value in image_losses.items():
        value = sum(value) if isinstance(value, list) else value
        other = clip_losses[name]
        other = sum(other) if isinstance(other, list) else other
        assert torch.allclose(value, other, atol=1e-5), name
    total = sum(v for k, v in image_losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    total.backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='need DetDataSamples'):
        model.loss(images, clips)


def test_images_predict_panoptic_maps_without_tracking(synthetic_root):
    """Image prediction = the first frame of a video (its own reference) with things numbered
    by detection, on the DetDataSamples at the original size; no state is kept."""
    cfg = load_cfg(CONFIG_DIR / 'vpsnet-fuse_r18_synthetic.py', synthetic_root)
    cfg.model.roi_head.panoptic_cfg.score_thr = 0.0
    cfg.model.panoptic_head.stuff_area_limit = 1
    model = build(cfg).eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    clip_data = model.data_preprocessor(pseudo_collate([dataset[(0, 0)]]), False)
    frame = copy.deepcopy(clip_data['data_samples'][0][0])
    images = clip_data['inputs'][:, 0].repeat(2, 1, 1, 1)
    with torch.no_grad():
        out = model.predict(images, [copy.deepcopy(frame), copy.deepcopy(frame)])
        assert model._prev_raw is None
        video = model.predict(clip_data['inputs'], clip_data['data_samples'])[0][0]
    pan_video = video.pred_panoptic_seg.sem_seg[0]
    for sample in out:
        assert type(sample).__name__ == 'DetDataSample'
        pan = sample.pred_panoptic_seg.sem_seg[0]
        assert pan.shape == tuple(frame.metainfo['ori_shape'][:2])
        labels, ids = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
        assert torch.equal(labels, pan_video % INSTANCE_OFFSET)
        assert (ids[labels < model.num_things] > 0).all()
        assert not ids[labels >= model.num_things].any()
        assert torch.equal(pan, out[0].pred_panoptic_seg.sem_seg[0])
    assert (labels < model.num_things).any()  # things were predicted


def test_coco_panoptic_images_train_and_predict(tmp_path, monkeypatch):
    """mmdet's COCO panoptic samples (CocoPanopticDataset + the COCO config's pipeline up to
    PackDetInputs + DetDataPreprocessor) through a small VPSNet-Base with the COCO classes:
    losses on things with a crowd region, and panoptic maps at the original size."""
    import sys
    import types

    from PIL import Image

    from mmvps.datasets.formats import dump_json, rgb2id, write_coco_panoptic
    if 'panopticapi' not in sys.modules:  # mmdet's loader only takes rgb2id from it
        try:
            import panopticapi  # noqa: F401
        except ImportError:
            package = types.ModuleType('panopticapi')
            package.utils = types.SimpleNamespace(rgb2id=rgb2id)
            monkeypatch.setitem(sys.modules, 'panopticapi', package)
            monkeypatch.setitem(sys.modules, 'panopticapi.utils', package.utils)
    cfg = load_cfg(CONFIG_DIR / 'vpsnet-base_r50_fpn_8xb2-12e_coco-panoptic.py')
    small = load_cfg(CONFIG_DIR / 'vpsnet-base_r18_synthetic.py').model
    small.data_preprocessor = cfg.model.data_preprocessor
    small.roi_head.bbox_head.num_classes = small.roi_head.mask_head.num_classes = 80
    small.semantic_head.num_classes = 133
    small.panoptic_head.update(num_things=80, num_stuff=53)
    # COCO ids: 1 person (thing), 187 sky-other-merged (stuff); two people, one crowd
    cat = torch.full((32, 48), 187, dtype=torch.long)
    inst = torch.zeros_like(cat)
    cat[4:20, 4:14], inst[4:20, 4:14] = 1, 1
    cat[8:28, 20:34], inst[8:28, 20:34] = 1, 2
    cat[2:10, 38:46] = 1  # crowd
    (tmp_path / 'img').mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
                    ).save(tmp_path / 'img' / 'a.jpg')
    segments = write_coco_panoptic(str(tmp_path / 'pan' / 'a.png'), cat.numpy(), inst.numpy(),
                                   [1])
    for seg in segments:
        ys, xs = np.nonzero(_segment_mask(tmp_path / 'pan' / 'a.png', seg['id']))
        seg.update(area=len(ys), bbox=[int(xs.min()), int(ys.min()),
                                       int(xs.max() - xs.min() + 1),
                                       int(ys.max() - ys.min() + 1)])
    dump_json(str(tmp_path / 'pan.json'), dict(
        images=[dict(id=1, file_name='a.jpg', height=32, width=48)],
        annotations=[dict(image_id=1, file_name='a.png', segments_info=segments)],
        categories=[dict(id=1, name='person', isthing=1, supercategory='person'),
                    dict(id=187, name='sky-other-merged', isthing=0, supercategory='sky')]))
    pipeline = [p for p in cfg.train_dataloader.dataset.pipeline if p.type != 'Resize']
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(tmp_path), ann_file='pan.json',
        data_prefix=dict(img='img/', seg='pan/'), pipeline=pipeline))
    torch.manual_seed(0)
    model = MODELS.build(small)
    model.init_weights()
    model.train()
    data = model.data_preprocessor(pseudo_collate([dataset[0], dataset[0]]), True)
    assert data['inputs'].dim() == 4
    gt = data['data_samples'][0]
    # mmdet drops crowd boxes and masks; crowd pixels keep their class in the semantic map
    assert len(gt.gt_instances) == 2
    assert (gt.gt_sem_seg.sem_seg == 0).sum() == (cat == 1).sum()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_segm', 'loss_pano', 'loss_mask', 'loss_cls'} <= set(losses)
    assert 'loss_match' not in losses and torch.isfinite(losses['loss_pano'])
    model.eval()
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    pan = out[0].pred_panoptic_seg.sem_seg[0]
    assert pan.shape == (32, 48) and (pan % INSTANCE_OFFSET).max() <= 133


def _segment_mask(path, segment_id):
    from PIL import Image
    rgb = np.asarray(Image.open(path)).astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2] == segment_id
