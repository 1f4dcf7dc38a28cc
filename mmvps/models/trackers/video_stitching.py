"""Video Stitching (ViP-DeepLab, Qiao et al., CVPR 2021): short-term association of overlapping
clips by mask IoU on the frame they share, and the normalised boxes HiLA-MB's location cue uses."""
from typing import Dict, Tuple

import torch
from torch import Tensor

from mmvps.registry import TASK_UTILS


def masks_to_normalized_boxes(masks: Tensor) -> Tensor:
    """Boxes ``[x1 / W, y1 / H, x2 / W, y2 / H]`` of ``[S, H, W]`` masks.

    ``(x1, y1)`` is the top-left pixel and ``(x2, y2)`` the corner after the bottom-right pixel
    (exclusive, like mmdet's ``BitmapMasks.get_bboxes``), so a full-frame mask gives
    ``[0, 0, 1, 1]``. Dividing by the image size (not the box size, as the paper's sentence reads)
    is the only reading of Video-kMaX Sec. 3.2 that gives a location feature. An empty mask gives
    zeros.
    """
    if masks.dim() != 3:
        raise ValueError(f'masks_to_normalized_boxes expects [S, H, W] masks, got '
                         f'{tuple(masks.shape)}')
    masks = masks.bool()
    height, width = masks.shape[-2:]
    if height == 0 or width == 0:
        raise ValueError(f'masks_to_normalized_boxes got empty {height}x{width} masks')
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    ys = torch.arange(height, device=masks.device)
    xs = torch.arange(width, device=masks.device)
    x1 = torch.where(cols, xs, width).amin(dim=1)
    y1 = torch.where(rows, ys, height).amin(dim=1)
    x2 = torch.where(cols, xs + 1, 0).amax(dim=1)
    y2 = torch.where(rows, ys + 1, 0).amax(dim=1)
    boxes = torch.stack([x1 / width, y1 / height, x2 / width, y2 / height], dim=1).float()
    boxes[~rows.any(dim=1)] = 0
    return boxes


def segment_map_to_normalized_boxes(segment_map: Tensor, num_segments: int) -> Tuple[Tensor,
                                                                                     Tensor]:
    """Normalised boxes of the segments of one ``[H, W]`` segment map (0 = no segment, k >= 1 =
    segment k) in one pass over the pixels (no ``[S, H, W]`` masks at the original size).

    Returns:
        tuple: ``boxes [S, 4]`` as :func:`masks_to_normalized_boxes` gives them (zeros for an
        absent segment) and ``present [S]`` bool.
    """
    if segment_map.dim() != 2:
        raise ValueError(f'segment_map_to_normalized_boxes expects an [H, W] map, got '
                         f'{tuple(segment_map.shape)}')
    height, width = segment_map.shape
    device = segment_map.device
    index = segment_map.reshape(-1).long()
    if index.numel() and (index.min() < 0 or index.max() > num_segments):
        raise ValueError(f'segment map values must lie in [0, {num_segments}], got '
                         f'[{int(index.min())}, {int(index.max())}]')
    ys, xs = torch.meshgrid(torch.arange(height, device=device),
                            torch.arange(width, device=device), indexing='ij')
    xs, ys = xs.reshape(-1), ys.reshape(-1)

    def reduce(values, initial, how):
        out = torch.full((num_segments + 1, ), initial, dtype=torch.long, device=device)
        return out.scatter_reduce(0, index, values, reduce=how)[1:]

    x1, y1 = reduce(xs, width, 'amin'), reduce(ys, height, 'amin')
    x2, y2 = reduce(xs + 1, 0, 'amax'), reduce(ys + 1, 0, 'amax')
    present = x2 > 0
    boxes = torch.stack([x1 / width, y1 / height, x2 / width, y2 / height], dim=1).float()
    boxes[~present] = 0
    return boxes, present


@TASK_UTILS.register_module()
class VideoStitching:
    """Propagate global track ids to a new clip through the frame it shares with the previous
    clip (ViP-DeepLab's stitching, used as HiLA-MB's first, short-term level).

    On the overlapping frame, the previous output (class and global id per pixel) is compared
    with the new clip's prediction of that frame. Candidate pairs: a previous thing (id > 0)
    and a new thing segment of the same class with IoU > 0 (no threshold); the areas are the
    whole segments on that frame. The pairs are visited by IoU ascending (ties by previous
    ``(class, id)`` then new segment index, ascending), each side keeping its last partner, i.e.
    its highest-IoU one; only mutual pairs are kept. This is greedy and one-to-one, not a
    Hungarian matching. Stuff is identified by class and never stitched.
    """

    def __call__(self, prev_labels: Tensor, prev_ids: Tensor, new_labels: Tensor,
                 new_segment_map: Tensor, new_is_thing: Tensor) -> Dict[int, int]:
        """Stitch the new clip's segments to the previous output on one frame.

        Args:
            prev_labels (Tensor): ``[H, W]`` class of the previous output (void >= C).
            prev_ids (Tensor): ``[H, W]`` global track id of the previous output (0 for stuff
                and void).
            new_labels (Tensor): ``[H, W]`` class of the new clip's prediction of that frame.
            new_segment_map (Tensor): ``[H, W]`` new segment index (0 none, k >= 1 segment k).
            new_is_thing (Tensor): ``[S]`` bool, whether new segment k is row k - 1 a thing.

        Returns:
            dict: ``{new segment index k (1-based): global id}`` of the stitched segments.
        """
        shape = prev_labels.shape
        if prev_labels.dim() != 2 or any(m.shape != shape
                                         for m in (prev_ids, new_labels, new_segment_map)):
            raise ValueError(
                f'VideoStitching needs four [H, W] maps of one size, got prev_labels '
                f'{tuple(prev_labels.shape)}, prev_ids {tuple(prev_ids.shape)}, new_labels '
                f'{tuple(new_labels.shape)}, new_segment_map {tuple(new_segment_map.shape)}')
        num_segments = new_is_thing.numel()
        segment_map = new_segment_map.reshape(-1).long()
        if segment_map.numel() and (segment_map.min() < 0 or segment_map.max() > num_segments):
            raise ValueError(f'VideoStitching: new_segment_map values must lie in '
                             f'[0, {num_segments}] for {num_segments} segments')
        prev_labels, prev_ids = prev_labels.reshape(-1).long(), prev_ids.reshape(-1).long()
        new_labels = new_labels.reshape(-1).long()
        is_thing = torch.cat([new_is_thing.new_zeros(1), new_is_thing.bool()])

        prev_thing = prev_ids > 0
        if not prev_thing.any() or not is_thing.any():
            return {}
        # previous thing segments = distinct (class, id) pairs; area of each
        prev_keys, prev_index = torch.unique(
            torch.stack([prev_labels[prev_thing], prev_ids[prev_thing]], dim=1), dim=0,
            return_inverse=True)
        if len(prev_keys[:, 1].unique()) != len(prev_keys):
            raise ValueError('VideoStitching: a global id of the previous output spans several '
                             'classes; track ids must be unique within a video')
        prev_area = torch.bincount(prev_index, minlength=len(prev_keys))
        new_area = torch.bincount(segment_map, minlength=num_segments + 1)
        # intersections of same-class thing pairs
        pixel_prev = torch.full_like(prev_ids, -1)
        pixel_prev[prev_thing] = prev_index
        candidate = prev_thing & is_thing[segment_map] & (prev_labels == new_labels)
        if not candidate.any():
            return {}
        pair = pixel_prev[candidate] * (num_segments + 1) + segment_map[candidate]
        pairs, inter = torch.unique(pair, return_counts=True)  # sorted: previous key, then k
        prev_of, new_of = pairs // (num_segments + 1), pairs % (num_segments + 1)
        iou = inter / (prev_area[prev_of] + new_area[new_of] - inter)
        order = torch.sort(iou, stable=True).indices

        prev_to_new, new_to_prev = {}, {}
        for i in order.tolist():
            p, k = int(prev_of[i]), int(new_of[i])
            prev_to_new[p], new_to_prev[k] = k, p
        return {k: int(prev_keys[p, 1]) for p, k in prev_to_new.items() if new_to_prev[k] == p}
