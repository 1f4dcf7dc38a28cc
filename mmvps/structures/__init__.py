from .panoptic import IGNORE_INDEX, INSTANCE_OFFSET, decode_panoptic, encode_panoptic

__all__ = ['INSTANCE_OFFSET', 'IGNORE_INDEX', 'encode_panoptic', 'decode_panoptic']
