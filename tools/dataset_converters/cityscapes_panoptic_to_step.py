"""Cityscapes panoptic (``cityscapesScripts`` export) -> the STEP label space of KITTI-STEP, for
the K-Net image pretraining that the official Video K-Net recipe runs before KITTI-STEP.

STEP has 19 classes (Cityscapes trainIds) of which only person and car are things. This rewrites
``<root>/gtFine/cityscapes_panoptic_{split}.json`` and its PNG folder into
``cityscapes_panoptic_{split}_step.json`` / ``cityscapes_panoptic_{split}_step/``:

* categories ordered as mmvps labels them: person, car, then the 17 other trainId classes in
  trainId order (road, sidewalk, building, wall, fence, pole, traffic light, traffic sign,
  vegetation, terrain, sky, rider, truck, bus, train, motorcycle, bicycle); mmdet's
  ``CocoPanopticDataset`` numbers labels in this order;
* rider, truck, bus, train, motorcycle and bicycle become stuff: the segments of each such
  category in an image merge into one segment (PNG pixels rewritten to its first segment id,
  areas summed, boxes joined, ``iscrowd`` 0), so COCO-panoptic PQ sees one stuff segment per
  class as for every other stuff class.

Example::

    python tools/dataset_converters/cityscapes_panoptic_to_step.py data/cityscapes
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import ConversionError  # noqa: E402

from mmvps.datasets.formats import id2rgb, read_png, rgb2id, write_png  # noqa: E402

# Cityscapes label ids of the 19 trainId classes, in trainId order
TRAIN_ID_CATEGORIES = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
STEP_THINGS = (24, 26)  # person, car
STEP_ORDER = STEP_THINGS + tuple(c for c in TRAIN_ID_CATEGORIES if c not in STEP_THINGS)


def step_categories(categories):
    """The JSON ``categories`` in STEP order with STEP ``isthing`` flags."""
    by_id = {c['id']: c for c in categories}
    missing = [c for c in STEP_ORDER if c not in by_id]
    if missing:
        raise ConversionError(f'categories {missing} missing from the Cityscapes panoptic JSON')
    return [dict(by_id[c], isthing=int(c in STEP_THINGS)) for c in STEP_ORDER]


def merge_stuff_segments(ids, segments, was_thing, is_thing):
    """Merge, per category, the segments of former thing categories now stuff. ``ids``:
    ``[H, W]`` segment ids (rewritten in place). Returns the new ``segments_info``."""
    merged, out = {}, []
    for seg in segments:
        cat = seg['category_id']
        if cat not in STEP_ORDER:
            raise ConversionError(f"segment {seg['id']}: category {cat} is not a trainId class")
        if not was_thing[cat] or is_thing[cat]:
            out.append(seg)
            continue
        if cat not in merged:
            merged[cat] = dict(seg, iscrowd=0)
            out.append(merged[cat])
            continue
        target = merged[cat]
        ids[ids == seg['id']] = target['id']
        target['area'] += seg['area']
        x0, y0, w0, h0 = target['bbox']
        x1, y1, w1, h1 = seg['bbox']
        left, top = min(x0, x1), min(y0, y1)
        target['bbox'] = [left, top, max(x0 + w0, x1 + w1) - left, max(y0 + h0, y1 + h1) - top]
    return out


def convert_split(root, split):
    src_json = osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}.json')
    src_dir = osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}')
    dst_json = osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}_step.json')
    dst_dir = osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}_step')
    if not osp.isfile(src_json):
        raise ConversionError(f'{src_json}: not found (run cityscapesScripts '
                              'csCreatePanopticImgs first)')
    with open(src_json) as f:
        data = json.load(f)
    was_thing = {c['id']: bool(c['isthing']) for c in data['categories']}
    data['categories'] = step_categories(data['categories'])
    is_thing = {c['id']: bool(c['isthing']) for c in data['categories']}
    for ann in data['annotations']:
        png = osp.join(src_dir, ann['file_name'])
        ids = rgb2id(read_png(png, 'rgb'))
        ann['segments_info'] = merge_stuff_segments(ids, ann['segments_info'], was_thing,
                                                    is_thing)
        write_png(osp.join(dst_dir, ann['file_name']), id2rgb(ids))
    os.makedirs(osp.dirname(dst_json), exist_ok=True)
    with open(dst_json, 'w') as f:
        json.dump(data, f)
    return len(data['annotations'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='Cityscapes root (with gtFine/cityscapes_panoptic_*.json)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    args = parser.parse_args(argv)
    for split in args.splits:
        try:
            count = convert_split(args.root, split)
        except ConversionError as err:
            sys.exit(f'error: {err}')
        print(f'{split}: {count} images -> cityscapes_panoptic_{split}_step')


if __name__ == '__main__':
    main()
