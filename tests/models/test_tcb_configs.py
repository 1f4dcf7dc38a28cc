"""Every config under configs/tcb/ builds its TCBSegmentor and pipelines with its dataset's class
count; the CPU defaults train and evaluate (VideoSemSegMetric) on a tiny synthetic VSS tree."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from mmvps.datasets import generate_synthetic_vss
from mmvps.registry import DATASETS, METRICS, MODELS
from mmvps.utils import register_all_modules

register_all_modules()
CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'tcb'
CONFIGS = sorted(CONFIG_DIR.glob('*.py'))
SYNTHETIC = [path for path in CONFIGS if path.stem.endswith('_synthetic')]


def test_configs_exist():
    names = {path.stem for path in CONFIGS}
    for name in ('pspnet_r101-d8_2xb16-42k_vspw', 'ocrnet_r101-d8_2xb16-42k_vspw',
                 'tcb_st-ppm_r101-d8_4xb2-42k_vspw', 'tcb_st-ocr_r101-d8_4xb2-42k_vspw',
                 'tcb_st-ocr-mem_r101-d8_4xb2-42k_vspw', 'pspnet_r18_synthetic',
                 'tcb_st-ppm_r18_synthetic', 'tcb_st-ocr_r18_synthetic',
                 'tcb_st-ocr-mem_r18_synthetic'):
        assert name in names, name


@pytest.mark.parametrize('path', CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_builds_its_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmvps'
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    assert type(model).__name__ == 'TCBSegmentor'
    metainfo = DATASETS.get(cfg.train_dataloader.dataset.type).METAINFO
    assert model.num_classes == len(metainfo['classes'])
    is_ocr = 'ocr' in path.stem
    assert type(model.decode_head).__name__ == ('STOCRHead' if is_ocr else 'STPPMHead')
    baseline = path.stem.startswith(('pspnet', 'ocrnet'))
    sampler = cfg.train_dataloader.dataset.pipeline[0]
    assert sampler.type == 'TemporalOffsetFrameSample'
    assert tuple(sampler.offsets) == (() if baseline else model.ref_offsets)
    assert model.ref_offsets == (() if baseline else
                                 (1, 2, 3) if 'synthetic' in path.stem else (3, 6, 9))
    assert (model.memory is not None) == ('-mem' in path.stem)
    assert model.inference == ('release' if 'release' in path.stem else 'stream')
    Compose(cfg.train_dataloader.dataset.pipeline)
    Compose(cfg.test_dataloader.dataset.pipeline)
    if not path.stem.endswith('synthetic'):
        backbone = model.backbone
        assert type(backbone).__name__ == 'ContractDilatedResNet' and backbone.depth == 101
        assert backbone.layer3[0].conv2.dilation == (1, 1)
        assert backbone.layer4[1].conv2.dilation == (4, 4)
        assert not backbone.norm_eval
        assert cfg.param_scheduler[0].type == 'PolyLR' and cfg.train_cfg.max_iters == 42000
        assert cfg.optim_wrapper.optimizer.lr == 0.002
        lr_mult = cfg.optim_wrapper.paramwise_cfg.get('custom_keys', {}).get('backbone', {})
        assert lr_mult.get('lr_mult', 1.) == (1. if baseline else 0.1)


@pytest.fixture(scope='module')
def tiny_vss(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_vss')
    generate_synthetic_vss(str(root), num_train_videos=2, num_val_videos=1, num_frames=6,
                           height=48, width=80, seed=1)
    return root


@pytest.mark.parametrize('path', SYNTHETIC, ids=[path.stem for path in SYNTHETIC])
def test_cpu_default_trains_and_evaluates(path, tiny_vss, tmp_path):
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.update(data_root=str(tiny_vss))
    for step in dataset_cfg.pipeline[1].transforms:  # frames of the tiny tree are 48 x 80
        for key in ('scale', 'crop_size', 'size'):
            if key in step:
                step[key] = (80, 48)
    train_set = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([train_set[0], train_set[1]])
    model.train()
    losses = model.train_step(batch, optim_wrapper=_sgd(model))
    assert set(losses) == {'loss', 'loss_decode', 'loss_aux'}
    assert torch.isfinite(losses['loss'])

    val_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    val_cfg.update(data_root=str(tiny_vss))
    val_set = DATASETS.build(val_cfg)
    evaluator_cfg = copy.deepcopy(cfg.val_evaluator)
    assert set(evaluator_cfg.frame_subsets) == {'hard'}  # the config's record, moved with the data
    evaluator_cfg.frame_subsets = dict(hard=str(tiny_vss / 'hard_frames.json'))
    metric = METRICS.build(evaluator_cfg)
    writer = METRICS.build(dict(type='VideoSemSegMetric', format_only=True,
                                submission_format='vspw', outfile_prefix=str(tmp_path / 'vspw')))
    metric.dataset_meta = writer.dataset_meta = val_set.metainfo
    model.eval()
    video_length = val_set.get_data_info(0)['video_length']
    predictions = []
    for frame in range(video_length):
        data = val_set.prepare_data((0, frame))
        outputs = model.val_step(pseudo_collate([data]))
        metric.process({}, outputs)
        writer.process({}, outputs)
        pred = outputs[0].video_data_samples[0].pred_panoptic_seg.sem_seg
        assert pred.shape == (1, 48, 80) and 0 <= int(pred.min()) and int(pred.max()) < 6
        predictions.append((outputs[0].video_data_samples[0].metainfo, pred[0].numpy()))
    results = metric.evaluate(1)
    assert 0 <= results['vss/mIoU'] <= 100 and 'vss/mVC8' not in results  # 6-frame video
    assert {'vss/mIoU_hard', 'vss/mIoU_clean'} <= set(results)
    writer.evaluate(1)
    for meta, pred in predictions:  # the VSPW writer: one PNG of class ids per frame
        png = tmp_path / 'vspw' / meta['video_name'] / (meta['frame_name'] + '.png')
        assert (np.asarray(Image.open(png)) == pred).all()


def _sgd(model):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
