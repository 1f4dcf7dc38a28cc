"""Clip ground truth of Clip-PanoFCN (spec clip_panofcn.md Sec. 3.1): every non-crowd thing track
of a clip is one target, with a mask in each of the T frames (empty where it is absent)."""
from typing import Dict

import torch
from mmdet.structures import TrackDataSample

from mmvps.structures import IGNORE_INDEX
from ..panoptic_kernel_targets import _check_size, _pad, thing_gt_tensors


def get_clip_instance_gts(track_sample: TrackDataSample, num_thing_classes: int) -> Dict:
    """Gather the ground truth of one training clip for :class:`PanopticFCNHead.loss`.

    Args:
        track_sample (TrackDataSample): T frames (one shared augmentation), each with
            ``gt_instances`` (``labels``, ``masks``, ``instances_ids``: crowd is not among
            them), ``gt_sem_seg`` (training labels, 255 void) and metainfo
            ``batch_input_shape``.
        num_thing_classes (int): thing labels are ``0..num_thing_classes-1``.

    Returns:
        dict: ``masks`` bool ``[K, T, H, W]`` at the padded input size (one row per thing
        track, in order of first appearance, empty in frames without it), ``labels`` long
        ``[K]``, ``instances_ids`` long ``[K]`` and ``sem_seg`` long ``[T, H, W]`` (padding
        void).
    """
    frames = list(track_sample.video_data_samples)
    if not frames:
        raise ValueError('get_clip_instance_gts: the TrackDataSample has no frames')
    height, width = frames[0].metainfo['batch_input_shape']
    num_frames = len(frames)
    tracks: Dict[int, list] = {}  # track id -> [label, {frame: mask}]
    sem_maps = []
    for t, frame in enumerate(frames):
        source = frame.metainfo.get('img_path', f'frame {t} of a clip')
        gt = frame.gt_instances
        labels, masks = thing_gt_tensors(gt, num_thing_classes, source)
        if 'instances_ids' not in gt:
            if num_frames > 1 and len(labels):
                raise ValueError(f'{source}: thing instances without instances_ids; a clip '
                                 'target follows a track id across the frames')
            ids = [('untracked', i) for i in range(len(labels))]
        else:
            ids = torch.as_tensor(gt.instances_ids).tolist()
        _check_size(masks, height, width, source, 'instance masks')
        masks = _pad(masks, height, width, False)
        for label, mask, track in zip(labels.tolist(), masks, ids):
            entry = tracks.setdefault(track, [label, {}])
            if entry[0] != label:
                raise ValueError(f'{source}: track {track} has class {label} here and class '
                                 f'{entry[0]} in an earlier frame of the clip')
            entry[1][t] = entry[1][t] | mask if t in entry[1] else mask
        sem = frame.gt_sem_seg.sem_seg.long()
        _check_size(sem, height, width, source, 'semantic map')
        sem_maps.append(_pad(sem, height, width, IGNORE_INDEX)[0])
    sem_seg = torch.stack(sem_maps)
    masks = torch.zeros((len(tracks), num_frames, height, width), dtype=torch.bool,
                        device=sem_seg.device)
    for k, (_, pieces) in enumerate(tracks.values()):
        for t, mask in pieces.items():
            masks[k, t] = mask.to(sem_seg.device)
    labels = torch.tensor([entry[0] for entry in tracks.values()], dtype=torch.long,
                          device=sem_seg.device)
    instances_ids = torch.tensor([track if isinstance(track, int) else -1 for track in tracks],
                                 dtype=torch.long, device=sem_seg.device)
    return dict(masks=masks, labels=labels, instances_ids=instances_ids, sem_seg=sem_seg)
