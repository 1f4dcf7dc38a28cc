from .clip_reshape import clip_to_frames, frames_to_clip
from .kmax_predictor import KMaXPredictor
from .kmax_semantic_head import KMaXSemanticHead
from .kmax_transformer_decoder import KMaXTransformerDecoder
from .kmax_transformer_layer import KMaXFFN, KMaXQuerySelfAttention, KMaXTransformerLayer
from .kmeans_cross_attention import KMeansCrossAttention, kmeans_assignment

__all__ = [
    'KMaXFFN', 'KMaXPredictor', 'KMaXQuerySelfAttention', 'KMaXSemanticHead',
    'KMaXTransformerDecoder', 'KMaXTransformerLayer', 'KMeansCrossAttention', 'clip_to_frames',
    'frames_to_clip', 'kmeans_assignment'
]
