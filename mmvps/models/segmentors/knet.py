"""K-Net for image panoptic segmentation, built from mmdet backbones and necks."""
import copy
from typing import List, Optional, Tuple, Union

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.structures import SampleList
from mmengine.model import Sequential
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS
from ..heads.panoptic_kernel_targets import get_panoptic_gt


@MODELS.register_module()
class KNet(BaseDetector):
    """K-Net (Zhang et al., NeurIPS 2021): panoptic segmentation as mask prediction by dynamic
    kernels, the image model that Video K-Net extends.

    ``backbone -> neck`` gives one 1/4-resolution map (:meth:`extract_feat`);
    ``kernel_head`` (:class:`ConvKernelHead`) gives the initial kernels and masks;
    ``kernel_iter_head`` (:class:`KernelIterHead`) refines them stage by stage and pastes the
    panoptic map.

    Args:
        backbone (dict): backbone config (e.g. mmdet ``ResNet`` or ``SwinTransformer``).
        neck (dict | list[dict]): neck config, or configs applied in sequence (``FPN`` then
            :class:`SemanticFPN`); must output ``[B, C, H/4, W/4]``.
        kernel_head (dict): :class:`ConvKernelHead` config.
        kernel_iter_head (dict): :class:`KernelIterHead` config.
        train_cfg (dict, optional): ``kernel_head`` (assigner and sampler of the initial masks)
            and ``kernel_iter_head`` (one dict per stage, or one for all).
        test_cfg (dict, optional): panoptic inference settings of :class:`KernelIterHead`.
        ignore_void (bool): remove void, crowd and padding pixels from every mask cost and
            loss (mmvps); False trains them as background, as the official code does.
        soft_gt_masks (bool): GT masks resized bilinearly without binarising (official code).
        data_preprocessor (dict, optional): mmdet ``DetDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Union[dict, List[dict]],
                 kernel_head: dict,
                 kernel_iter_head: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 ignore_void: bool = True,
                 soft_gt_masks: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.ignore_void = ignore_void
        self.soft_gt_masks = soft_gt_masks
        self.backbone = MODELS.build(backbone)
        self.neck = Sequential(*[MODELS.build(cfg) for cfg in neck]) \
            if isinstance(neck, (list, tuple)) else MODELS.build(neck)
        train_cfg = train_cfg or {}
        kernel_head = copy.deepcopy(kernel_head)
        kernel_head.update(train_cfg=train_cfg.get('kernel_head'))
        self.kernel_head = MODELS.build(kernel_head)
        kernel_iter_head = copy.deepcopy(kernel_iter_head)
        kernel_iter_head.update(train_cfg=train_cfg.get('kernel_iter_head'))
        if test_cfg is not None:
            kernel_iter_head.update(test_cfg=test_cfg)
        self.kernel_iter_head = MODELS.build(kernel_iter_head)
        for name in ('num_proposals', 'num_thing_classes', 'num_stuff_classes'):
            if getattr(self.kernel_head, name) != getattr(self.kernel_iter_head, name):
                raise ValueError(f'kernel_head and kernel_iter_head disagree on {name}')
        if self.kernel_head.mask_upsample_stride != self.kernel_iter_head.mask_upsample_stride:
            raise ValueError('kernel_head and kernel_iter_head must use the same '
                             'mask_upsample_stride (their masks share the targets)')
        self.num_thing_classes = self.kernel_head.num_thing_classes
        self.num_stuff_classes = self.kernel_head.num_stuff_classes
        self.num_classes = self.kernel_head.num_classes

    def extract_feat(self, batch_inputs: Tensor) -> Tensor:
        """Images ``[B, 3, H, W]`` -> the neck's map ``[B, C, H/4, W/4]``."""
        return self.neck(self.backbone(batch_inputs))

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> tuple:
        """Per stage ``(cls_scores, mask_preds, kernels)`` logits, no post-processing."""
        kernels, feats, mask_preds = self.kernel_head(self.extract_feat(batch_inputs))
        return tuple(self.kernel_iter_head(feats, kernels, mask_preds))

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """Losses of the initial masks and of every stage."""
        return self.loss_and_kernels(batch_inputs, batch_data_samples)[0]

    def loss_and_kernels(
            self,
            batch_inputs: Tensor,
            batch_data_samples: SampleList,
            previous_kernels: Optional[Tensor] = None) -> Tuple[dict, List[InstanceData]]:
        """Losses and, per image, the last stage's kernels with their assignment (see
        :meth:`KernelIterHead.loss`), for the association learning of Video K-Net.

        Args:
            batch_inputs (Tensor): ``[B, 3, H, W]`` images.
            batch_data_samples (list[DetDataSample]): ``gt_instances`` (things: ``labels``,
                ``masks``, optional ``instances_ids``) and ``gt_sem_seg`` (training labels, 255
                void; crowd keeps its thing class and is ignored).
            previous_kernels (Tensor, optional): passed to the kernel fusion of the last stage.
        """
        kernels, feats, mask_preds, seg_preds = self.kernel_head.forward_with_seg(
            self.extract_feat(batch_inputs))
        stride = self.kernel_head.mask_upsample_stride
        mask_size = (mask_preds.shape[-2] * stride, mask_preds.shape[-1] * stride)
        batch_gt_instances = [
            get_panoptic_gt(data_sample, self.num_thing_classes, self.num_stuff_classes,
                            mask_size, soft_masks=self.soft_gt_masks)
            for data_sample in batch_data_samples
        ]
        if not self.ignore_void:
            for gt in batch_gt_instances:
                gt.set_metainfo(dict(ignore_mask=torch.zeros_like(gt.ignore_mask)))
        losses = self.kernel_head.loss_by_feat(mask_preds, batch_gt_instances, seg_preds)
        stage_losses, results = self.kernel_iter_head.loss(
            feats, kernels, mask_preds, batch_gt_instances, previous_kernels=previous_kernels)
        losses.update(stage_losses)
        return losses, results

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True,
                previous_kernels: Optional[Tensor] = None) -> SampleList:
        """Panoptic segmentation of each image, written into its data sample.

        Adds ``pred_panoptic_seg`` (``PixelData(sem_seg=[1, H, W])``, ``label + instance *
        INSTANCE_OFFSET``, things numbered 1.. in the map, void = ``num_classes``),
        ``pred_instances`` (kept thing segments: ``kernel_inds``, ``labels``, ``scores``,
        ``instance_ids``), ``pred_kernels`` / ``pred_group_feats`` (``[K, C]`` last-stage
        kernels and group features) and, with a semantic
        head, ``pred_seg_logits`` (its ``[num_classes, h, w]`` logits at the features'
        resolution).
        """
        kernels, feats, mask_preds, seg_preds = self.kernel_head.forward_with_seg(
            self.extract_feat(batch_inputs))
        results = self.kernel_iter_head.predict(
            feats,
            kernels,
            mask_preds, [data_sample.metainfo for data_sample in batch_data_samples],
            previous_kernels=previous_kernels,
            rescale=rescale)
        for i, (data_sample, result) in enumerate(zip(batch_data_samples, results)):
            if seg_preds is not None:
                data_sample.pred_seg_logits = seg_preds[i]
            data_sample.pred_panoptic_seg = result['pan_results']
            data_sample.pred_instances = result['ins_results']
            data_sample.pred_kernels = result['kernels']
            data_sample.pred_group_feats = result['group_feats']
        return batch_data_samples
