"""Mask R-CNN RoI head of VPSNet: mmdet's ``StandardRoIHead`` plus what the panoptic and track
heads read (spec vpsnet.md §1.1, §1.4 step 1, §3.2)."""
from typing import List, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class VPSNetRoIHead(StandardRoIHead):
    """``StandardRoIHead`` that also returns its sampled RoIs (the key RoIs of the track head),
    gives RoI features and per-class mask logits of given boxes, and predicts VPSNet's
    *panoptic detections*: softmax box scores, (RoI, class) pairs with probability above
    ``score_thr``, class-specific decoding, **class-agnostic** NMS, at most ``max_per_img``
    (the ``test_cfg.rcnn`` detection setting is not used on this path).

    Args:
        panoptic_cfg (dict): ``score_thr`` (0.6), ``nms`` (class-agnostic IoU 0.5),
            ``max_per_img`` (100) of the panoptic detections.
        **kwargs: ``StandardRoIHead`` arguments.
    """

    def __init__(self,
                 panoptic_cfg: dict = dict(
                     score_thr=0.6,
                     nms=dict(type='nms', iou_threshold=0.5, class_agnostic=True),
                     max_per_img=100),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.panoptic_cfg = ConfigDict(panoptic_cfg)
        if not self.panoptic_cfg.nms.get('class_agnostic', False):
            raise ValueError('VPSNetRoIHead: the panoptic detections use class-agnostic NMS; '
                             'set panoptic_cfg.nms.class_agnostic=True')

    def loss_and_samples(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                         batch_data_samples: List[DetDataSample]) -> Tuple[dict, list]:
        """``StandardRoIHead.loss`` returning the sampling results too."""
        batch_gt_instances, batch_gt_instances_ignore, _ = unpack_gt_instances(
            batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i],
                                                      batch_gt_instances_ignore[i])
            sampling_results.append(self.bbox_sampler.sample(
                assign_result, rpn_results, batch_gt_instances[i],
                feats=[lvl_feat[i][None] for lvl_feat in x]))
        losses = dict()
        bbox_results = self.bbox_loss(x, sampling_results)
        losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            mask_results = self.mask_loss(x, sampling_results, bbox_results['bbox_feats'],
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])
        return losses, sampling_results

    def box_roi_feats(self, x: Tuple[Tensor], boxes: List[Tensor]) -> Tensor:
        """``[N, C, 7, 7]`` box RoIAlign features of the boxes of every image."""
        return self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], bbox2roi(boxes))

    def class_mask_logits(self, x: Tuple[Tensor], boxes: List[Tensor],
                          labels: List[Tensor]) -> List[Tensor]:
        """Per image ``[n, 28, 28]`` mask logits of each box's class."""
        num = [len(b) for b in boxes]
        if sum(num) == 0:
            size = [s * self.mask_head.scale_factor for s in self.mask_head.roi_feat_size]
            return [b.new_zeros(0, *size) for b in boxes]
        mask_preds = self._mask_forward(x, bbox2roi(boxes))['mask_preds']
        outs = []
        for preds, label in zip(mask_preds.split(num), labels):
            outs.append(preds[range(len(label)), label.long()])
        return outs

    def predict_panoptic_dets(self, x: Tuple[Tensor], batch_img_metas: List[dict],
                              rpn_results_list: InstanceList) -> InstanceList:
        """Panoptic detections per image (``bboxes`` in input pixels, ``scores``, ``labels``),
        sorted by falling score."""
        return self.predict_bbox(x, batch_img_metas, rpn_results_list,
                                 rcnn_test_cfg=self.panoptic_cfg, rescale=False)
