from .association_losses import AssociationContrastiveLoss, AssociationL2Loss
from .kmax_losses import (MaskIDCrossEntropyLoss, PixelInstanceDiscriminationLoss,
                          PQStyleClassLoss, PQStyleDiceLoss, SampledSemanticLoss)

__all__ = [
    'AssociationContrastiveLoss', 'AssociationL2Loss', 'MaskIDCrossEntropyLoss',
    'PixelInstanceDiscriminationLoss', 'PQStyleClassLoss', 'PQStyleDiceLoss',
    'SampledSemanticLoss'
]
