"""Initial kernels of K-Net: learnable thing (proposal) kernels and one kernel per stuff class."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from .panoptic_kernel_targets import get_kernel_targets, kernel_mask_losses, suppress_ignored


@MODELS.register_module()
class ConvKernelHead(BaseModule):
    """Static kernels that give K-Net's first masks (summarised in Video K-Net, Sec. 3.1).

    ``num_proposals`` thing kernels and ``num_stuff_classes`` stuff kernels are the weights of
    1x1 convolutions without bias, so every initial mask is exactly ``kernel . feature``. Thing
    kernels act on a localization branch and stuff kernels on a semantic branch of the neck's map
    (a few convs each); the kernel update stages then work on the sum of both branches. The
    initial masks are supervised like the stages' masks (Hungarian matching on mask costs for
    thing kernels, stuff kernel ``j`` fixed to stuff class ``j``), as K-Net does.

    Args:
        num_proposals (int): number of thing kernels ``N``.
        num_thing_classes (int): thing classes (labels ``0..num_thing_classes-1``).
        num_stuff_classes (int): stuff classes, one kernel each.
        in_channels (int): channels of the neck's map.
        out_channels (int): kernel channels ``C``.
        num_loc_convs (int): convs of the localization (thing) branch.
        num_seg_convs (int): convs of the semantic (stuff) branch.
        conv_cfg, norm_cfg, act_cfg (dict): config of the branch convs (1x1).
        kernel_init_std (float): std of the normal initialization of the kernels.
        loss_mask (dict): binary cross-entropy on the initial masks.
        loss_dice (dict): Dice loss on the initial masks.
        train_cfg (dict, optional): ``assigner`` (mask costs only: the initial kernels have no
            class scores) and ``sampler``.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 num_proposals: int = 100,
                 num_thing_classes: int = 80,
                 num_stuff_classes: int = 53,
                 in_channels: int = 256,
                 out_channels: int = 256,
                 num_loc_convs: int = 1,
                 num_seg_convs: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 kernel_init_std: float = 1.0,
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_dice: dict = dict(type='DiceLoss', loss_weight=4.0),
                 train_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_proposals = num_proposals
        self.num_thing_classes = num_thing_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        self.kernel_init_std = kernel_init_std

        def branch(num_convs):
            return nn.Sequential(*[
                ConvModule(in_channels if i == 0 else out_channels, out_channels, 1,
                           conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
                for i in range(num_convs)
            ])

        if in_channels != out_channels and min(num_loc_convs, num_seg_convs) == 0:
            raise ValueError('a branch without convs keeps in_channels; they must equal '
                             'out_channels')
        self.loc_convs = branch(num_loc_convs)
        self.seg_convs = branch(num_seg_convs)
        self.thing_kernels = nn.Conv2d(out_channels, num_proposals, 1, bias=False)
        self.stuff_kernels = nn.Conv2d(out_channels, num_stuff_classes, 1, bias=False)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        if train_cfg is not None:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg['sampler'], default_args=dict(context=self))

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.normal_(self.thing_kernels.weight, std=self.kernel_init_std)
        nn.init.normal_(self.stuff_kernels.weight, std=self.kernel_init_std)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Args:
            x (Tensor): the neck's map ``[B, in_channels, h, w]``.

        Returns:
            tuple: ``kernels`` ``[B, N + S, C]`` (thing kernels, then stuff kernels in class
            order), ``feats`` ``[B, C, h, w]`` (localization + semantic branch, the features of
            the update stages) and ``mask_preds`` ``[B, N + S, h, w]`` initial mask logits.
        """
        loc_feats = self.loc_convs(x)
        seg_feats = self.seg_convs(x)
        mask_preds = torch.cat([self.thing_kernels(loc_feats), self.stuff_kernels(seg_feats)], 1)
        kernels = torch.cat([self.thing_kernels.weight, self.stuff_kernels.weight]).flatten(1)
        kernels = kernels[None].expand(len(x), -1, -1)
        return kernels, loc_feats + seg_feats, mask_preds

    def loss_by_feat(self, mask_preds: Tensor,
                     batch_gt_instances: List[InstanceData]) -> dict:
        """Losses of the initial masks.

        Args:
            mask_preds (Tensor): ``[B, N + S, h, w]`` initial mask logits.
            batch_gt_instances (list[InstanceData]): ``get_panoptic_gt`` of each image.
        """
        mask_preds = torch.stack([
            suppress_ignored(preds, gt.ignore_mask)
            for preds, gt in zip(mask_preds, batch_gt_instances)
        ])
        batch_targets = [
            get_kernel_targets(preds, None, gt, self.assigner, self.sampler, self.num_proposals,
                               self.num_thing_classes, self.num_classes)
            for preds, gt in zip(mask_preds.detach(), batch_gt_instances)
        ]
        loss_mask, loss_dice = kernel_mask_losses(mask_preds, batch_targets, batch_gt_instances,
                                                  self.loss_mask, self.loss_dice)
        return dict(loss_init_mask=loss_mask, loss_init_dice=loss_dice)
