from .kernel_embed_head import KernelAssociationEmbedHead

__all__ = ['KernelAssociationEmbedHead']
