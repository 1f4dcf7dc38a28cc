from .quasi_dense_kernel_tracker import QuasiDenseKernelTracker

__all__ = ['QuasiDenseKernelTracker']
