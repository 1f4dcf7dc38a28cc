from .clip_panoptic_post_processor import ClipPanopticPostProcessor
from .clip_reshape import clip_to_frames, frames_to_clip
from .clip_targets import get_clip_panoptic_targets
from .kmax_criterion import KMaXCriterion
from .kmax_predictor import KMaXPredictor
from .kmax_semantic_head import KMaXSemanticHead
from .kmax_transformer_decoder import KMaXTransformerDecoder
from .kmax_transformer_layer import KMaXFFN, KMaXQuerySelfAttention, KMaXTransformerLayer
from .kmeans_cross_attention import KMeansCrossAttention, kmeans_assignment

__all__ = [
    'ClipPanopticPostProcessor', 'KMaXCriterion', 'KMaXFFN', 'KMaXPredictor',
    'KMaXQuerySelfAttention', 'KMaXSemanticHead', 'KMaXTransformerDecoder',
    'KMaXTransformerLayer', 'KMeansCrossAttention', 'clip_to_frames', 'frames_to_clip',
    'get_clip_panoptic_targets', 'kmeans_assignment'
]
