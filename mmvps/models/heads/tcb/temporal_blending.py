"""Temporal context blending (TCB, VSPW CVPR 2021) and the test-time state around it: the
per-video cache of frame summaries and the object-region memory of TCB-st-ocr-mem."""
from collections import OrderedDict, deque
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class TemporalContextBlending(BaseModule):
    """The only place where TCB's frames meet: a (weighted) mean of per-frame context summaries
    over the frame axis (P Eq. 1 for object regions, P Sec. 4.1.2 for pooled pyramids).

    Args:
        frame_weights (Sequence[float], optional): fixed weight per frame (target first), scaled
            to sum 1; None = plain mean (the released code's default).
    """

    def __init__(self, frame_weights: Optional[Sequence[float]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if frame_weights is not None:
            weights = torch.as_tensor(frame_weights, dtype=torch.float32)
            if weights.dim() != 1 or len(weights) == 0 or (weights < 0).any() or weights.sum() <= 0:
                raise ValueError(f'TemporalContextBlending: frame_weights must be non-negative '
                                 f'with a positive sum, got {frame_weights}')
            self.register_buffer('frame_weights', weights / weights.sum(), persistent=False)
        else:
            self.frame_weights = None

    def forward(self, summaries: Tensor) -> Tensor:
        """Blend ``[B, N + 1, ...]`` per-frame summaries into ``[B, ...]``."""
        if summaries.dim() < 2 or summaries.size(1) == 0:
            raise ValueError(f'TemporalContextBlending expects [B, frames, ...] summaries with at '
                             f'least one frame, got {tuple(summaries.shape)}')
        if self.frame_weights is None:
            return summaries.mean(dim=1)
        if len(self.frame_weights) != summaries.size(1):
            raise ValueError(f'TemporalContextBlending: {len(self.frame_weights)} frame_weights '
                             f'for {summaries.size(1)} frames')
        shape = (1, -1) + (1, ) * (summaries.dim() - 2)
        return (summaries * self.frame_weights.view(shape).to(summaries)).sum(dim=1)


@MODELS.register_module()
class FrameContextCache:
    """Per-video ring buffer of per-frame summaries (pooled pyramids or region vectors), so that a
    causal stream runs the backbone once per frame and reads its references from here.

    Holds the summaries of the last ``max_offset + 1`` frames of one video (detached); a new
    video empties it.

    Args:
        max_offset (int): the largest reference offset (9 for offsets (3, 6, 9)).
    """

    def __init__(self, max_offset: int) -> None:
        if max_offset < 0:
            raise ValueError(f'FrameContextCache: max_offset must be >= 0, got {max_offset}')
        self.max_offset = int(max_offset)
        self.reset()

    def reset(self, video: Optional[str] = None) -> None:
        self.video = video
        self._frames: 'OrderedDict[int, Tensor]' = OrderedDict()

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame_id: int, summary: Tensor) -> None:
        """Store frame ``frame_id``'s summary; frames come in increasing order."""
        if self._frames and frame_id <= next(reversed(self._frames)):
            raise ValueError(f'FrameContextCache: frame {frame_id} after frame '
                             f'{next(reversed(self._frames))}; a stream goes forward')
        self._frames[frame_id] = summary.detach()
        while len(self._frames) > self.max_offset + 1:
            self._frames.popitem(last=False)

    def get(self, frame_id: int) -> Tensor:
        if frame_id not in self._frames:
            raise KeyError(f'FrameContextCache: frame {frame_id} is not cached (holds '
                           f'{list(self._frames)}); frames must be streamed in order from 0')
        return self._frames[frame_id]


@MODELS.register_module()
class ObjectRegionMemory:
    """Test-time memory of TCB-st-ocr-mem: per-frame object region vectors ``[K, C]`` of the
    frames seen so far in one video (detached), blended into the regions the head attends to.

    Modes:

    * ``'window'`` (default; the paper's text, P Sec. 4.1.1): a FIFO of the last ``size``
      target frames' region vectors; the blend is their uniform mean. ``size=None`` keeps a
      running sum over the whole video so far (constant state).
    * ``'first_clip'`` (the released code, spec tcb.md section 2.4): the first call stores its
      clip's per-frame vectors and every call returns the mean of the stored and the current
      clip's vectors, i.e. 1/2 first clip + 1/2 current clip; nothing else is ever stored.

    Args:
        mode (str): ``'window'`` or ``'first_clip'``.
        size (int, optional): window length in frames (``'window'`` only). Defaults to 8, the
            released ``memory_num``.
    """

    def __init__(self, mode: str = 'window', size: Optional[int] = 8) -> None:
        if mode not in ('window', 'first_clip'):
            raise ValueError(f"ObjectRegionMemory: mode must be 'window' or 'first_clip', got "
                             f'{mode!r}')
        if size is not None and size < 1:
            raise ValueError(f'ObjectRegionMemory: size must be >= 1 or None, got {size}')
        self.mode = mode
        self.size = size
        self.reset()

    def reset(self) -> None:
        self._window = deque(maxlen=self.size) if self.size is not None else deque()
        self._sum: Optional[Tensor] = None
        self._count = 0
        self._first_clip: Optional[Tensor] = None

    @property
    def num_stored(self) -> int:
        """Region-vector sets held (bounded by ``size``, 1 running sum, or the first clip)."""
        if self.mode == 'first_clip':
            return 0 if self._first_clip is None else len(self._first_clip)
        return 1 if self.size is None and self._sum is not None else len(self._window)

    def __call__(self, clip_regions: Tensor) -> Tensor:
        """Update with one step and return the blended ``[K, C]`` regions.

        Args:
            clip_regions (Tensor): ``[n, K, C]`` per-frame region vectors of the current step,
                target frame first ('window' reads only the target).
        """
        if clip_regions.dim() != 3 or clip_regions.size(0) == 0:
            raise ValueError(f'ObjectRegionMemory expects [frames, K, C] region vectors, got '
                             f'{tuple(clip_regions.shape)}')
        regions = clip_regions.detach()
        if self.mode == 'first_clip':
            if self._first_clip is None:
                self._first_clip = regions
            return torch.cat([self._first_clip, regions]).mean(dim=0)
        if self.size is None:
            self._sum = regions[0] if self._sum is None else self._sum + regions[0]
            self._count += 1
            return self._sum / self._count
        self._window.append(regions[0])
        return torch.stack(list(self._window)).mean(dim=0)
