"""Video-kMaX assembled: ClipKMaX (clip-kMaX) + VideoKMaX on the shared clip-level loop, its
configs and the checkpoint converter's output for it."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmvps.datasets import generate_synthetic_vps
from mmvps.registry import DATASETS, MODELS
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs' / 'video_kmax'
CPU_DEFAULT = CONFIG_DIR / 'video_kmax_r18_near-online_synthetic.py'


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('video_kmax') / 'synthetic_vps'
    generate_synthetic_vps(str(root), num_train_videos=2, num_val_videos=2, num_frames=5,
                           seed=7)
    return root


def cpu_default_cfg(root):
    register_all_modules()
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(CPU_DEFAULT))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = str(root)
    return cfg


def build_tiny(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('config', sorted(p.name for p in CONFIG_DIR.glob('*.py')))
def test_every_video_kmax_config_builds(config):
    """Each config builds its model (on the meta device: no memory) and its train and test
    clips agree with the sampler and the association settings."""
    register_all_modules()
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(CONFIG_DIR / config))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    if cfg.model.type == 'ClipKMaX':  # image pretraining
        assert model.num_classes == len(cfg.model.get('thing_classes', ())) or model.num_classes
        return
    segmenter = model.segmenter
    train_clip = cfg.train_pipeline[0]
    test_clip = cfg.test_pipeline[0]
    sampler = cfg.test_dataloader.sampler
    assert train_clip.type == test_clip.type == 'VideoClipSample'
    assert test_clip.clip_length == sampler.clip_length
    # the online synthetic config runs the near-online default's weights (trained on 2 frames)
    assert train_clip.clip_length == test_clip.clip_length or \
        config == 'video_kmax_r18_online_synthetic.py'
    assert test_clip.clip_overlap == sampler.clip_overlap == (test_clip.clip_length - 1)
    # online: clips of one frame, no stitching; near-online: 2 frames overlapping by 1
    assert model.use_stitching == (test_clip.clip_length == 2)
    assert segmenter.transformer_decoder.predictor.class_head.conv.out_channels == \
        segmenter.num_classes + 1
    assert tuple(segmenter.input_size) == tuple(cfg.model.segmenter.pixel_decoder.input_size)
    if segmenter.num_thing_classes == 0:  # VSPW: semantic inference, nothing to track
        assert model.tracker is None and segmenter.post_processor.mode == 'semantic'
    else:
        assert model.tracker is not None


def test_clip_of_one_frame_is_the_image_model(synthetic_root):
    """T = 1 clips give exactly the image model's outputs (kMaX-DeepLab)."""
    model = build_tiny(cpu_default_cfg(synthetic_root)).segmenter.eval()
    images = torch.randn(2, 3, 96, 160)
    with torch.no_grad():
        image_out, _ = model.forward_clips(images)
        clip_out, _ = model.forward_clips(images[:, None])
    for key in ('class_logits', 'mask_logits', 'pixel_feature', 'queries'):
        assert torch.equal(image_out[key], clip_out[key]), key
    assert clip_out['mask_logits'].shape == (2, 16, 1, 24, 40)


def test_two_identical_frames_give_one_tube(synthetic_root):
    """A clip of two identical frames: identical masks in both halves of every query's tube."""
    model = build_tiny(cpu_default_cfg(synthetic_root)).segmenter.eval()
    frame = torch.randn(1, 1, 3, 96, 160)
    with torch.no_grad():
        out, _ = model.forward_clips(torch.cat([frame, frame], dim=1))
    masks = out['mask_logits'][0]
    assert masks.shape == (16, 2, 24, 40)
    torch.testing.assert_close(masks[:, 0], masks[:, 1], rtol=0, atol=1e-5)


def test_training_clips_give_every_loss_and_gradients(synthetic_root):
    cfg = cpu_default_cfg(synthetic_root)
    model = build_tiny(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    data = model.data_preprocessor(pseudo_collate([dataset[(0, 0)], dataset[(1, 2)]]), True)
    assert data['inputs'].shape == (2, 2, 3, 96, 160)
    losses = model.loss(data['inputs'], data['data_samples'])
    names = ['loss_pq_class', 'loss_pq_dice', 'loss_mask_id', 'loss_instance_discrimination']
    expected = set(names) | {f's{i}.{n}' for i in range(3) for n in names} | {'loss_semantic'}
    assert set(losses) == expected
    assert all(torch.isfinite(value) and value >= 0 for value in losses.values())
    sum(losses.values()).backward()
    segmenter = model.segmenter
    for param in (segmenter.backbone.conv1.weight, segmenter.transformer_decoder.cluster_centers,
                  next(segmenter.semantic_head.parameters())):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_few_steps_on_one_clip_reduce_the_loss(synthetic_root):
    """The assembled model learns: 25 AdamW steps on one clip pair more than halve the class and
    semantic terms and lower the mask-ID and instance-discrimination terms. (The PQ dice term is
    weighted by the matched class probability, which starts near 0 under the void bias, so it
    rises first; instance discrimination has a floor: its soft targets spread over all sampled
    pixels of a mask.)"""
    cfg = cpu_default_cfg(synthetic_root)
    model = build_tiny(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    data = model.data_preprocessor(
        pseudo_collate([dataset[(0, 1)], dataset[(1, 3)]]), True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history = []
    for _ in range(25):
        torch.manual_seed(1)  # the same sampled pixels every step
        losses = model.loss(data['inputs'], copy.deepcopy(data['data_samples']))
        history.append({name: float(value) for name, value in losses.items()})
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()

    first, last = history[0], history[-1]
    for name in ('loss_pq_class', 's0.loss_pq_class', 'loss_semantic'):
        assert last[name] < 0.5 * first[name], name
    for name in ('loss_mask_id', 'loss_instance_discrimination'):
        assert last[name] < first[name], name


@pytest.mark.parametrize('clip_length', [1, 2])
def test_video_inference_predicts_every_frame_once(synthetic_root, clip_length):
    """Near-online (T = 2, overlap 1) and online (T = 1) inference over whole synthetic videos
    through the real test pipeline and sampler: one panoptic map per frame at the original
    size, frames in order, ids in the project's convention, stuff without track ids."""
    cfg = cpu_default_cfg(synthetic_root)
    model = build_tiny(cfg).eval()
    model.use_stitching = clip_length == 2
    test_cfg = copy.deepcopy(cfg.test_dataloader)
    test_cfg.dataset.pipeline[0].update(clip_length=clip_length, clip_overlap=clip_length - 1)
    dataset = DATASETS.build(test_cfg.dataset)
    sampler_cfg = dict(test_cfg.sampler, dataset=dataset)
    from mmvps.registry import DATA_SAMPLERS
    sampler_cfg.update(clip_length=clip_length, clip_overlap=clip_length - 1)
    sampler = DATA_SAMPLERS.build(sampler_cfg)
    seen = {}
    num_classes = model.segmenter.num_classes
    for index in sampler:
        with torch.no_grad():
            (sample, ) = model.test_step(pseudo_collate([dataset[index]]))
        for t in sample.key_frames_inds:
            frame = sample[t]
            seen.setdefault(frame.metainfo['video_name'], []).append(frame.metainfo['frame_id'])
            pan = frame.pred_panoptic_seg.sem_seg[0]
            assert pan.shape == tuple(frame.metainfo['ori_shape'][:2])
            labels, ids = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
            assert labels.max() <= num_classes
            assert not ids[labels >= model.segmenter.num_thing_classes].any()
            assert set(frame.pred_track_instances.instances_id.tolist()) == \
                set(ids[ids > 0].unique().tolist())
    assert seen == {name: list(range(5)) for name in seen} and len(seen) == 2


def test_semantic_mode_gives_semantic_maps(synthetic_root):
    """VSPW-style: every class stuff, no tracker; the semantic inference fills every pixel."""
    cfg = cpu_default_cfg(synthetic_root)
    segmenter = cfg.model.segmenter
    segmenter.update(num_thing_classes=0, num_stuff_classes=6)
    segmenter.post_processor.mode = 'semantic'
    cfg.model.update(tracker=None, use_stitching=False)
    model = build_tiny(cfg).eval()
    test_cfg = copy.deepcopy(cfg.test_dataloader)
    test_cfg.dataset.pipeline[0].update(clip_length=1, clip_overlap=0)
    dataset = DATASETS.build(test_cfg.dataset)
    with torch.no_grad():
        (sample, ) = model.test_step(pseudo_collate([dataset[(0, 0)]]))
    pan = sample[0].pred_panoptic_seg.sem_seg[0]
    assert (pan < 6).all() and (pan // INSTANCE_OFFSET == 0).all()


def test_converted_kmax_checkpoint_loads_into_video_kmax(tmp_path):
    """tools/model_converters/kmax_deeplab_to_mmvps.py --video: a kMaX-DeepLab R-50 checkpoint in
    the reference layout loads strictly into the KITTI-STEP VideoKMaX."""
    import importlib.util
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from test_convnext_and_kmax_converter import reference_kmax_state_dict
    spec = importlib.util.spec_from_file_location(
        'kmax_converter', REPO / 'tools' / 'model_converters' / 'kmax_deeplab_to_mmvps.py')
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    converted, _ = converter.convert_kmax_deeplab(
        reference_kmax_state_dict('r50', num_classes=19, num_queries=128), source='kmax.pth')
    state = {f'segmenter.{key}': value for key, value in converted.items()}
    register_all_modules()
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(CONFIG_DIR / 'video_kmax_r50_8xb4-40k_near-online_kitti-step.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    result = model.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_image_predict_numbers_thing_segments(synthetic_root):
    """ClipKMaX on images (kMaX-DeepLab): one panoptic map per image at the original size, thing
    segments numbered 1.. in segment order, stuff and void with instance 0."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmvps.models.vps.base_clip_video_model import ClipPrediction
    model = build_tiny(cpu_default_cfg(synthetic_root)).segmenter.eval()
    segment_map = torch.tensor([[[0, 1, 1, 2], [3, 3, 2, 4]]])
    sem = torch.tensor([[[6, 4, 4, 0], [1, 1, 0, 5]]])
    segments = InstanceData(labels=torch.tensor([4, 0, 1, 5]), scores=torch.ones(4),
                            is_thing=torch.tensor([False, True, True, False]))
    model.segment_clips = lambda *args: [ClipPrediction(sem, segment_map, segments)]
    sample = DetDataSample(metainfo=dict(img_shape=(2, 4), ori_shape=(2, 4)))
    (sample, ) = model.predict(torch.zeros(1, 3, 2, 4), [sample])
    assert sample.pred_panoptic_seg.sem_seg.tolist() == [[[6, 4, 4, 1000], [2001, 2001, 1000, 5]]]
