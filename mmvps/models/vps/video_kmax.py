"""Video-kMaX (Shin et al., WACV 2024): clip-kMaX within clips, Video Stitching and the HiLA
memory buffer across them."""
import copy
from typing import Optional

from mmdet.structures import TrackDataSample, TrackSampleList
from torch import Tensor

from mmvps.registry import MODELS
from .base_clip_video_model import BaseClipVideoModel, ClipPrediction


@MODELS.register_module()
class VideoKMaX(BaseClipVideoModel):
    """Video-kMaX: a :class:`ClipKMaX` segmenter on clips of T frames and the shared clip-level
    loop (:class:`BaseClipVideoModel`) for the association.

    Near-online (P Sec. 4.2): T = 2 clips overlapping by one frame (``VideoClipSample(
    clip_length=2, clip_overlap=1, test_mode=True)``); the overlapping frame keeps the earlier
    clip's output, Video Stitching matches the new clip's tubes on it, and the HiLA memory
    buffer (:class:`HiLAMemoryBuffer`) associates the tubes stitching left unmatched. Online
    (P Sec. 3.3): T = 1, every frame its own clip, ``use_stitching=False``, the memory alone.
    The appearance of a tube is its final cluster centre (query), its location the normalised
    box of its mask at the newest frame.

    Training runs the segmenter's kMaX losses on clips of T consecutive frames (one Hungarian
    matching per clip, tube targets); association has no learned part.

    Args:
        segmenter (dict): :class:`ClipKMaX` config (without its own data preprocessor).
        tracker (dict): :class:`HiLAMemoryBuffer` config (the naive memory buffer of the paper's
            ablation: ``use_location=False, refresh_frames=1`` and ``use_stitching=False``).
        stitching (dict, optional): :class:`VideoStitching` config.
        use_stitching (bool): stitch overlapping clips. Defaults to True.
        data_preprocessor (dict, optional): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 segmenter: dict,
                 tracker: dict,
                 stitching: Optional[dict] = dict(type='VideoStitching'),
                 use_stitching: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(tracker=tracker, stitching=stitching, use_stitching=use_stitching,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        segmenter = copy.deepcopy(segmenter)
        segmenter.pop('data_preprocessor', None)
        self.segmenter = MODELS.build(segmenter)

    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> dict:
        """kMaX losses of ``[B, T, 3, H, W]`` training clips (every frame a key frame)."""
        if inputs.dim() != 5:
            raise ValueError(f'VideoKMaX.loss expects [B, T, 3, H, W] clips, got '
                             f'{tuple(inputs.shape)}')
        return self.segmenter.loss(inputs, data_samples)

    def segment_clip(self, inputs: Tensor, track_sample: TrackDataSample) -> ClipPrediction:
        return self.segmenter.segment_clips(inputs, [track_sample])[0]

    def _forward(self, inputs: Tensor, data_samples: Optional[TrackSampleList] = None,
                 **kwargs):
        """Class logits ``[B, N, C+1]`` and mask logits ``[B, N, T, h/4, w/4]`` of the clips."""
        return self.segmenter._forward(inputs)
