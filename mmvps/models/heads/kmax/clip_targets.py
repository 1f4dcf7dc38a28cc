"""Tube ground truth of clip-kMaX: one target per identity present anywhere in a clip.

A thing target is one track (``instances_ids``) across the T frames, a stuff target one stuff
class; its mask is ``[T, h, w]`` and empty in the frames where the identity is absent (Video-kMaX
Sec. 3.1; the clip targets of MaXTron's Video-kMaX port). The ground truth is sampled at every
``stride``-th pixel of the padded input (kMaX-DeepLab supervises its stride-4 masks with
``gt[::4, ::4]``); void, crowd and padding pixels belong to no target.
"""
from typing import Tuple

import torch
from mmdet.structures import TrackDataSample
from mmengine.structures import InstanceData

from mmvps.structures import IGNORE_INDEX
from ..panoptic_kernel_targets import get_panoptic_gt


def get_clip_panoptic_targets(track_sample: TrackDataSample, num_thing_classes: int,
                              num_stuff_classes: int,
                              mask_size: Tuple[int, int]) -> InstanceData:
    """Gather the tube ground truth of one clip.

    Args:
        track_sample (TrackDataSample): T frames, each a ``DetDataSample`` with ``gt_instances``
            (``labels``, ``masks``, ``instances_ids``; crowd regions are not among them),
            ``gt_sem_seg`` (stuff) and metainfo ``batch_input_shape`` (the padded input size).
        num_thing_classes (int): thing classes come first in the label space.
        num_stuff_classes (int): stuff classes follow them.
        mask_size (tuple[int, int]): ``(h, w)`` of the predicted masks (padded input / 4).

    Returns:
        InstanceData: ``labels`` (long ``[M]``), ``masks`` (float 0/1 ``[M, T, h, w]``) and
        ``instances_ids`` (long ``[M]``, the track id of a thing, -1 for stuff), things first in
        order of first appearance, then stuff in class order; metainfo ``ignore_mask`` (bool
        ``[T, h, w]``: void, crowd and padding, covered by no target) and ``sem_seg`` (long
        ``[T, h, w]``: the class of the target covering a pixel, 255 on ignored pixels).
    """
    frames = list(track_sample.video_data_samples)
    if not frames:
        raise ValueError('get_clip_panoptic_targets: the TrackDataSample has no frames')
    num_frames = len(frames)
    per_frame = [
        get_panoptic_gt(frame, num_thing_classes, num_stuff_classes, mask_size,
                        downsample='nearest') for frame in frames
    ]
    device = per_frame[0].labels.device

    # identity -> [label, track id, [(frame, mask), ...]]; things by track, stuff by class
    things, stuff = {}, {}
    for t, (frame, gt) in enumerate(zip(frames, per_frame)):
        for label, mask, track in zip(gt.labels.tolist(), gt.masks, gt.instances_ids.tolist()):
            if label >= num_thing_classes:
                stuff.setdefault(label, [label, -1, []])[2].append((t, mask))
                continue
            if track < 0 and num_frames > 1:
                raise ValueError(
                    f'{frame.metainfo.get("img_path")}: a thing instance has no instances_ids; '
                    'clip targets need track ids to follow an object across frames')
            entry = things.setdefault(track if track >= 0 else ('untracked', len(things)),
                                      [label, track, []])
            if entry[0] != label:
                raise ValueError(f'{frame.metainfo.get("img_path")}: track {track} has class '
                                 f'{label} here and class {entry[0]} in an earlier frame')
            entry[2].append((t, mask))

    identities = list(things.values()) + [stuff[label] for label in sorted(stuff)]
    masks = torch.zeros((len(identities), num_frames, *mask_size), device=device)
    for m, (_, _, pieces) in enumerate(identities):
        for t, mask in pieces:
            masks[m, t] = torch.maximum(masks[m, t], mask)
    labels = torch.tensor([entry[0] for entry in identities], dtype=torch.long, device=device)
    instances_ids = torch.tensor([entry[1] for entry in identities], dtype=torch.long,
                                 device=device)

    ignore_mask = torch.stack([gt.ignore_mask for gt in per_frame])
    sem_seg = torch.full((num_frames, *mask_size), IGNORE_INDEX, dtype=torch.long, device=device)
    for label, mask in zip(labels, masks):
        sem_seg[mask > 0] = label
    targets = InstanceData(metainfo=dict(ignore_mask=ignore_mask, sem_seg=sem_seg))
    targets.labels = labels
    targets.masks = masks
    targets.instances_ids = instances_ids
    return targets
