"""One K-Net kernel update stage: assemble, update, interact, then predict masks and classes."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmengine.model import BaseModule, bias_init_with_prob
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS
from .panoptic_kernel_targets import kernel_mask_losses


def assemble_group_features(mask_preds: Tensor, feats: Tensor,
                            hard_mask_thr: Optional[float] = None) -> Tensor:
    """Group feature assembling of K-Net: ``F^K_n = sum_{u,v} m_n(u,v) F(u,v)``.

    Args:
        mask_preds (Tensor): mask logits ``[B, N, h, w]``.
        feats (Tensor): features ``[B, C, h, w]``.
        hard_mask_thr (float, optional): None: soft masks ``m = sigmoid(M)`` (mmvps default);
            a number: binary masks ``m = sigmoid(M) > hard_mask_thr`` (official K-Net and
            Video K-Net code, 0.5).

    Returns:
        Tensor: ``[B, N, C]`` features of each kernel's mask.
    """
    if mask_preds.shape[-2:] != feats.shape[-2:]:
        raise ValueError(f'masks {tuple(mask_preds.shape)} and features {tuple(feats.shape)} '
                         'differ in resolution')
    masks = mask_preds.sigmoid()
    if hard_mask_thr is not None:
        masks = (masks > hard_mask_thr).to(feats.dtype)
    return torch.einsum('bnhw,bchw->bnc', masks, feats)


@MODELS.register_module()
class KernelUpdateHead(BaseModule):
    """A kernel update stage of K-Net (top-left of Fig. 4 of Video K-Net).

    1. group feature assembling: each kernel sums the features under its sigmoid mask;
    2. adaptive kernel update (:class:`KernelUpdator`): gated fusion of those features into it;
    3. kernel interaction: multi-head self-attention between the kernels, then an FFN;
    4. the new kernels give class logits (FC layers, sigmoid classification) and masks
       (dynamic 1x1 convolution of the features with the kernels after FC layers).

    Args:
        num_classes (int): thing + stuff classes (sigmoid logits, no background class).
        in_channels (int): kernel and feature channels ``C``.
        num_heads (int): heads of the kernel interaction.
        feedforward_channels (int): hidden channels of the FFN.
        num_ffn_fcs (int): FC layers of the FFN.
        num_cls_fcs (int): FC-LN-ReLU layers before the classifier.
        num_mask_fcs (int): FC-LN-ReLU layers before the mask kernel projection.
        dropout (float): dropout of attention and FFN.
        act_cfg (dict): activation of the FC layers.
        ffn_act_cfg (dict): activation of the FFN.
        with_feat_transform (bool): a 1x1 conv on the features before assembling and mask
            prediction (K-Net's ``feat_transform``).
        kernel_updator_cfg (dict): config of the adaptive kernel update.
        hard_mask_thr (float, optional): binarise the masks at this probability for the group
            feature assembling (official code: 0.5); None assembles under soft masks.
        loss_cls (dict): sigmoid Focal loss of the classes.
        loss_mask (dict): binary cross-entropy of the masks.
        loss_dice (dict): Dice loss of the masks.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 num_classes: int = 133,
                 in_channels: int = 256,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 num_ffn_fcs: int = 2,
                 num_cls_fcs: int = 1,
                 num_mask_fcs: int = 1,
                 dropout: float = 0.0,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 ffn_act_cfg: dict = dict(type='ReLU', inplace=True),
                 with_feat_transform: bool = True,
                 kernel_updator_cfg: dict = dict(
                     type='KernelUpdator', in_channels=256, feat_channels=256),
                 hard_mask_thr: Optional[float] = None,
                 loss_cls: dict = dict(
                     type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=2.0),
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_dice: dict = dict(type='DiceLoss', loss_weight=4.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.hard_mask_thr = hard_mask_thr
        self.feat_transform = ConvModule(
            in_channels, in_channels, 1, act_cfg=None) if with_feat_transform else None
        self.kernel_updator = MODELS.build(kernel_updator_cfg)
        self.attention = MultiheadAttention(
            in_channels, num_heads, attn_drop=dropout, proj_drop=dropout, batch_first=True)
        self.attention_norm = build_norm_layer(dict(type='LN'), in_channels)[1]
        self.ffn = FFN(in_channels, feedforward_channels, num_ffn_fcs, act_cfg=ffn_act_cfg,
                       ffn_drop=dropout)
        self.ffn_norm = build_norm_layer(dict(type='LN'), in_channels)[1]

        def fcs(num_fcs):
            layers = []
            for _ in range(num_fcs):
                layers += [nn.Linear(in_channels, in_channels, bias=False),
                           build_norm_layer(dict(type='LN'), in_channels)[1],
                           build_activation_layer(act_cfg)]
            return nn.Sequential(*layers)

        self.cls_fcs = fcs(num_cls_fcs)
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.mask_fcs = fcs(num_mask_fcs)
        self.fc_mask = nn.Linear(in_channels, in_channels)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)

    def init_weights(self) -> None:
        """Xavier for all weight matrices (as the paper says), Focal-loss prior for the
        classifier bias."""
        super().init_weights()
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        nn.init.constant_(self.fc_cls.bias, bias_init_with_prob(0.01))

    def forward(self,
                feats: Tensor,
                kernels: Tensor,
                mask_preds: Tensor,
                previous_kernels: Optional[Tensor] = None,
                fusion: Optional[nn.Module] = None,
                return_group_feats: bool = False) -> Tuple[Tensor, ...]:
        """Args:
            feats (Tensor): features ``[B, C, h, w]``.
            kernels (Tensor): kernels of the previous stage ``[B, N, C]``.
            mask_preds (Tensor): mask logits of the previous stage ``[B, N, h, w]``.
            previous_kernels (Tensor, optional): ``[B, N, C]`` kernels of the previous frame,
                fused into ``kernels`` by ``fusion`` after the group features are assembled
                (the official code's ``update_dynamic_cov`` fusion).
            fusion (nn.Module, optional): called as ``fusion(kernels, previous_kernels,
                group_feats=group_feats)``.
            return_group_feats (bool): also return the assembled group features.

        Returns:
            tuple: ``cls_scores`` ``[B, N, num_classes]`` logits, ``mask_preds``
            ``[B, N, h, w]`` logits, the updated ``kernels`` ``[B, N, C]`` and, if asked, the
            group features ``[B, N, C]``.
        """
        if self.feat_transform is not None:
            feats = self.feat_transform(feats)
        group_feats = assemble_group_features(mask_preds, feats, self.hard_mask_thr)
        if fusion is not None and previous_kernels is not None:
            kernels = fusion(kernels, previous_kernels, group_feats=group_feats)
        kernels = self.kernel_updator(group_feats, kernels)
        kernels = self.attention_norm(self.attention(kernels))
        kernels = self.ffn_norm(self.ffn(kernels))
        cls_scores = self.fc_cls(self.cls_fcs(kernels))
        mask_kernels = self.fc_mask(self.mask_fcs(kernels))
        mask_preds = torch.einsum('bnc,bchw->bnhw', mask_kernels, feats)
        if return_group_feats:
            return cls_scores, mask_preds, kernels, group_feats
        return cls_scores, mask_preds, kernels

    def loss_by_feat(self, cls_scores: Tensor, mask_preds: Tensor,
                     batch_targets: List[InstanceData],
                     batch_gt_instances: List[InstanceData]) -> dict:
        """Focal classification loss of all kernels, BCE and Dice of the positive kernels.

        Args:
            cls_scores (Tensor): ``[B, K, num_classes]`` logits.
            mask_preds (Tensor): ``[B, K, h, w]`` logits, ignored pixels suppressed.
            batch_targets (list[InstanceData]): ``get_kernel_targets`` of each image.
            batch_gt_instances (list[InstanceData]): ``get_panoptic_gt`` of each image.
        """
        targets = InstanceData.cat(batch_targets)
        num_pos = (targets.assigned_gt_inds >= 0).sum().clamp(min=1).item()
        loss_cls = self.loss_cls(
            cls_scores.flatten(0, 1),
            targets.labels,
            targets.label_weights,
            avg_factor=num_pos)
        loss_mask, loss_dice = kernel_mask_losses(mask_preds, batch_targets, batch_gt_instances,
                                                  self.loss_mask, self.loss_dice)
        return dict(loss_cls=loss_cls, loss_mask=loss_mask, loss_dice=loss_dice)
