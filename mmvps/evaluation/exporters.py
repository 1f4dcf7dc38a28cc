"""Writers of the official submission formats, one small class per format.

An exporter writes each frame's prediction file as it arrives (``write_frame``, official
category ids, -1 void, track ids) and returns a small JSON record; records of every rank are
gathered and ``write_index`` writes the format's index file (``pred.json``) in ground-truth order.
"""
import os.path as osp
from abc import ABCMeta, abstractmethod

import numpy as np

from mmvps.datasets.formats import (cityscapes_vps_image_id, cityscapes_vps_pred_json, dump_json,
                                    vipseg_pred_json, write_coco_panoptic, write_step,
                                    write_vspw_prediction)


def labels_to_official(sem, inst, label2cat, num_things):
    """Map training labels (void >= C) to official category ids (-1 void); track ids are kept
    on thing labels and zeroed elsewhere."""
    label2cat = np.asarray(label2cat, dtype=np.int64)
    lut = np.full(max(256, int(sem.max(initial=0)) + 1), -1, dtype=np.int64)
    lut[:len(label2cat)] = label2cat
    cat = lut[sem]
    inst = np.where((sem < num_things) & (cat >= 0), inst, 0)
    return cat, inst


class SubmissionExporter(metaclass=ABCMeta):
    """Base: ``outfile_prefix`` is the submission folder, ``categories`` the official
    ``dict(id, isthing)`` list."""

    def __init__(self, outfile_prefix, categories):
        self.outfile_prefix = outfile_prefix
        self.thing_ids = [int(c['id']) for c in categories if c['isthing']]

    @abstractmethod
    def write_frame(self, meta, cat, inst):
        """Write one frame; ``meta`` has ``video_id``, ``video_name``, ``frame_id``,
        ``frame_name``, ``img_path``, ``img_id``, ``seg_map_path`` and ``is_annotated``.
        Returns the JSON record of the frame, or None."""

    def write_index(self, records):
        """Write the index file from the records of all frames (any order); no-op by default."""


class VIPSegExporter(SubmissionExporter):
    """VIPSeg: ``pan_pred/<video>/<frame>.png`` (COCO RGB) + ``pred.json`` nested per video."""

    def write_frame(self, meta, cat, inst):
        path = osp.join(self.outfile_prefix, 'pan_pred', meta['video_name'],
                        meta['frame_name'] + '.png')
        info = write_coco_panoptic(path, cat, inst, self.thing_ids, zero_instance_is_crowd=False)
        return dict(order=(meta['video_id'], meta['frame_id']), video_id=meta['video_name'],
                    stem=meta['frame_name'], segments_info=info)

    def write_index(self, records):
        videos = []
        for rec in sorted(records, key=lambda r: r['order']):
            if not videos or videos[-1]['video_id'] != rec['video_id']:
                videos.append(dict(video_id=rec['video_id'], frames=[]))
            videos[-1]['frames'].append(rec)
        dump_json(osp.join(self.outfile_prefix, 'pred.json'), vipseg_pred_json(videos))


class CityscapesVPSExporter(SubmissionExporter):
    """Cityscapes-VPS: ``pan_pred/<image id>.png`` (COCO RGB) for the annotated frames + flat
    ``pred.json`` sorted by image id (the ground-truth ``images`` order). The image id
    (``VVVV_GGGG_<city>_<seq>_<frame>``) is the frame's ``img_id``, else taken from its label
    file name, else from its image name."""

    def write_frame(self, meta, cat, inst):
        if not meta['is_annotated']:
            return None
        image_id = meta['img_id'] or cityscapes_vps_image_id(
            osp.basename(meta['seg_map_path'] or meta['img_path']))
        path = osp.join(self.outfile_prefix, 'pan_pred', image_id + '.png')
        info = write_coco_panoptic(path, cat, inst, self.thing_ids, zero_instance_is_crowd=False)
        return dict(image_id=image_id, segments_info=info)

    def write_index(self, records):
        frames = sorted(records, key=lambda r: r['image_id'])
        dump_json(osp.join(self.outfile_prefix, 'pred.json'), cityscapes_vps_pred_json(frames))


class STEPExporter(SubmissionExporter):
    """KITTI-STEP / MOTChallenge-STEP: ``<sequence>/<frame>.png``, R = trainId, G/B = track id."""

    def write_frame(self, meta, cat, inst):
        write_step(osp.join(self.outfile_prefix, meta['video_name'], meta['frame_name'] + '.png'),
                   cat, inst)


class VSPWExporter(SubmissionExporter):
    """VSPW: ``<video>/<frame>.png``, uint8 class id 0..123, 255 ignore."""

    def write_frame(self, meta, cat, inst):
        write_vspw_prediction(
            osp.join(self.outfile_prefix, meta['video_name'], meta['frame_name'] + '.png'), cat)


SUBMISSION_EXPORTERS = dict(
    vipseg=VIPSegExporter,
    cityscapes_vps=CityscapesVPSExporter,
    kitti_step=STEPExporter,
    motchallenge_step=STEPExporter,
    vspw=VSPWExporter,
)
