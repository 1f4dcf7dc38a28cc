"""Official on-disk formats of the video segmentation datasets (pure numpy + PIL).

Decoders return ``(cat, inst)`` int64 maps in the format's official category ids (-1 void) and
track ids (0 = stuff or crowd, see docs/conventions.md §1-2); writers produce the official files.
Every reader raises :class:`FormatError` whose message starts with the file path.
"""
from .cityscapes_vps import (decode_cityscapes_labelmap, decode_cityscapes_panoptic_inst,
                             load_cityscapes_labelmap, load_cityscapes_panoptic_inst,
                             write_cityscapes_labelmap, write_cityscapes_panoptic_inst)
from .coco_panoptic import (cityscapes_vps_image_id, cityscapes_vps_label_name,
                            cityscapes_vps_panoptic_json, cityscapes_vps_pred_json,
                            coco_segment_id, decode_coco_panoptic, index_segments,
                            load_coco_panoptic, parse_categories,
                            read_cityscapes_vps_panoptic_json, read_coco_panoptic_ids,
                            read_vipseg_panoptic_json, vipseg_panoptic_json, vipseg_pred_json,
                            write_coco_panoptic)
from .io import (FormatError, check_png_header, check_relative_name, dump_json, id2rgb,
                 is_json_int, load_json, load_png, read_png, read_text_lines, rgb2id, write_png)
from .step import decode_step, load_step, write_step
from .vipseg import decode_vipseg_raw, load_vipseg_raw, write_vipseg_raw
from .vspw import (decode_vspw, decode_vspw_prediction, load_vspw, load_vspw_prediction,
                   write_vspw, write_vspw_prediction)

# ``seg_format`` of a dataset record -> reader of one annotation file. ``coco_panoptic`` also
# takes the frame's ``segments_info`` and the format's ``thing_ids``.
SEG_FORMAT_LOADERS = dict(
    vipseg_raw=load_vipseg_raw,
    coco_panoptic=load_coco_panoptic,
    step=load_step,
    vspw=load_vspw,
    cityscapes_panoptic_inst=load_cityscapes_panoptic_inst,
    cityscapes_labelmap=load_cityscapes_labelmap,
)


def load_segmentation(path, seg_format, segments_info=None, thing_ids=None):
    """Read one annotation file of format ``seg_format`` into ``(cat, inst)``."""
    if seg_format not in SEG_FORMAT_LOADERS:
        raise ValueError(f'{path}: unknown seg_format {seg_format!r}, expected one of '
                         f'{sorted(SEG_FORMAT_LOADERS)}')
    if seg_format == 'coco_panoptic':
        if segments_info is None or thing_ids is None:
            raise ValueError(f'{path}: coco_panoptic needs segments_info and thing_ids')
        return load_coco_panoptic(path, segments_info, thing_ids)
    return SEG_FORMAT_LOADERS[seg_format](path)


__all__ = [
    'FormatError', 'check_png_header', 'check_relative_name', 'is_json_int', 'load_png',
    'read_png', 'read_text_lines', 'write_png', 'rgb2id', 'id2rgb', 'load_json', 'dump_json',
    'decode_vipseg_raw', 'load_vipseg_raw', 'write_vipseg_raw', 'decode_coco_panoptic',
    'load_coco_panoptic', 'write_coco_panoptic', 'coco_segment_id', 'index_segments',
    'read_coco_panoptic_ids', 'decode_step', 'load_step',
    'write_step', 'decode_vspw', 'load_vspw', 'write_vspw', 'decode_vspw_prediction',
    'load_vspw_prediction', 'write_vspw_prediction', 'decode_cityscapes_panoptic_inst',
    'load_cityscapes_panoptic_inst', 'write_cityscapes_panoptic_inst',
    'decode_cityscapes_labelmap', 'load_cityscapes_labelmap', 'write_cityscapes_labelmap',
    'vipseg_panoptic_json', 'vipseg_pred_json', 'read_vipseg_panoptic_json',
    'cityscapes_vps_panoptic_json', 'cityscapes_vps_pred_json',
    'read_cityscapes_vps_panoptic_json', 'cityscapes_vps_label_name', 'cityscapes_vps_image_id',
    'parse_categories', 'SEG_FORMAT_LOADERS', 'load_segmentation'
]
