from .pq_style_match_cost import PQStyleMatchCost, pq_class_similarity, pq_mask_similarity

__all__ = ['PQStyleMatchCost', 'pq_class_similarity', 'pq_mask_similarity']
