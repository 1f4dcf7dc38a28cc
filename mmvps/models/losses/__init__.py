from .association_losses import AssociationContrastiveLoss, AssociationL2Loss

__all__ = ['AssociationContrastiveLoss', 'AssociationL2Loss']
