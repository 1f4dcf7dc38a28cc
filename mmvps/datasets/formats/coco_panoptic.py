"""COCO-panoptic video formats: RGB segment-id PNGs plus a JSON of ``segments_info``.

Used by VIPSeg (``panomasksRGB`` + ``panoptic_gt_VIPSeg_<split>.json``, videos nested),
Cityscapes-VPS and VIPER (``panoptic_video`` + a flat ``images/annotations`` JSON) and by the
official prediction files (``pan_pred`` + ``pred.json``) of both. A segment id is
``R + 256 G + 65536 B`` (0 void); thing segment ids are stable within a video, so a thing's id
is its track id.
"""
import numpy as np

from .io import (FormatError, _where, check_cat_inst, check_label_map, check_relative_name,
                 id2rgb, is_json_int, load_json, load_png, rgb2id, write_png)


def decode_coco_panoptic(rgb, segments_info, thing_ids, path=None, category_ids=None):
    """Decode a COCO-panoptic RGB map into ``(cat, inst)`` (official ids, -1 void).

    Thing segments get ``inst = segment id`` (0 when ``iscrowd``), stuff segments ``inst = 0``.
    Every id in the PNG must be listed in ``segments_info`` and every listed id must occur in
    the PNG (as panopticapi requires); with ``category_ids`` the categories are checked too.
    """
    ids = rgb2id(check_label_map(rgb, 3, path))
    index, table = index_segments(ids, segments_info, thing_ids, path, category_ids)
    return table['category_id'][index], table['inst'][index]


def read_coco_panoptic_ids(path):
    """Read a COCO-panoptic PNG straight into its ``(H, W)`` segment ids (uint32).

    The packed RGB bytes (plus one pad byte) are read as little-endian uint32 at a stride of 3
    bytes, so ``R + 256 G + 65536 B`` is one mask of the next pixel's R away: no per-channel
    arithmetic on the decoded image.
    """
    img = load_png(path, 'rgb')
    raw = img.tobytes() + b'\0'
    width = img.width
    packed = np.ndarray((img.height, width), dtype='<u4', buffer=raw, strides=(3 * width, 3))
    return packed & 0xFFFFFF


def load_coco_panoptic(path, segments_info, thing_ids, category_ids=None):
    """Read and decode a COCO-panoptic PNG with its ``segments_info``."""
    index, table = index_segments(read_coco_panoptic_ids(path), segments_info, thing_ids, path,
                                  category_ids)
    return table['category_id'][index], table['inst'][index]


_MAX_LUT_SEGMENTS = (1 << 16) - 2
# segment id -> 1-based position in segments_info (0: unlisted), filled and cleared per call;
# one per process (not thread-safe), allocated lazily
_id_lut = None


def index_segments(ids, segments_info, thing_ids, path=None, category_ids=None,
                   allow_absent=False):
    """Position of every pixel's segment in ``segments_info``, checked both ways (with
    ``allow_absent`` a listed segment may be missing from the PNG: the official scripts count
    such a ground-truth segment as a false negative of area 0).

    Returns ``(index, table)``: ``index[y, x]`` is ``k + 1`` for the ``k``-th listed segment and
    ``len(segments_info) + 1`` for void (id 0); ``table`` maps ``'id'``, ``'category_id'``,
    ``'inst'`` (the segment id for non-crowd things, else 0) and ``'iscrowd'`` to int64 arrays
    indexed the same way (entry 0 unused, the last entry void: category -1).
    """
    global _id_lut
    where = _where(path)
    seg_ids, seg_cats, seg_crowd = _segment_table(segments_info, where, category_ids)
    n = len(seg_ids)
    if n > _MAX_LUT_SEGMENTS:
        raise FormatError(f'{where}: {n} segments in one frame, more than {_MAX_LUT_SEGMENTS}')
    if _id_lut is None:
        _id_lut = np.zeros(1 << 24, np.uint16)  # untouched pages are never resident
    lut = _id_lut
    lut[seg_ids] = np.arange(1, n + 1)
    lut[0] = n + 1
    try:
        index = np.take(lut, ids)
    finally:
        lut[seg_ids] = 0
        lut[0] = 0
    if index.min(initial=1) == 0:
        unlisted = np.unique(ids[index == 0])
        raise FormatError(f'{where}: segment ids {unlisted[:10].tolist()} in the PNG are not '
                          f'listed in its segments_info')
    # every listed segment must occur: a 1/16 subsample usually finds them all (one full count
    # otherwise)
    absent = np.bincount(index[::4, ::4].ravel(), minlength=n + 2)[1:n + 1] == 0
    if absent.any() and not allow_absent:
        absent = np.bincount(index.ravel(), minlength=n + 2)[1:n + 1] == 0
    if absent.any() and not allow_absent:
        raise FormatError(f'{where}: segments_info lists ids {seg_ids[absent][:10].tolist()} '
                          f'that the PNG does not contain')
    thing_ids = set(thing_ids)
    is_thing = np.array([c in thing_ids for c in seg_cats.tolist()], dtype=bool)

    def padded(values, void):  # entry 0 (unlisted) is never indexed, the last one is void
        return np.concatenate([[void], values, [void]]).astype(np.int64)

    table = dict(
        id=padded(seg_ids, 0),
        category_id=padded(seg_cats, -1),
        inst=padded(np.where(is_thing & ~seg_crowd, seg_ids, 0), 0),
        iscrowd=padded(seg_crowd, 0))
    return index, table


def _segment_table(segments_info, where, category_ids=None):
    """``(ids, category ids, iscrowd)`` arrays of one frame's ``segments_info``."""
    ids, cats, crowd = [], [], []
    if not isinstance(segments_info, (list, tuple)):
        raise FormatError(f'{where}: segments_info is {segments_info!r}, not a list')
    for seg in segments_info:
        if not isinstance(seg, dict):
            raise FormatError(f'{where}: segments_info entry {seg!r} is not an object')
        sid, cid = seg.get('id'), seg.get('category_id')
        if not (is_json_int(sid) and is_json_int(cid)):  # 2.7 or true must not become 2 or 1
            raise FormatError(f'{where}: segments_info entry {seg!r} lacks an integer id or '
                              f'category_id')
        sid, cid = int(sid), int(cid)
        iscrowd = seg.get('iscrowd', 0)
        if iscrowd not in (0, 1) or not (is_json_int(iscrowd) or isinstance(iscrowd, bool)):
            raise FormatError(f'{where}: segment {sid} has iscrowd {iscrowd!r}, expected 0 or 1')
        if category_ids is not None and cid not in category_ids:
            raise FormatError(f'{where}: segment {sid} has unknown category_id {cid}')
        if sid <= 0 or sid >= 1 << 24:
            raise FormatError(f'{where}: segment id {sid} is outside 1..2**24-1')
        ids.append(sid)
        cats.append(cid)
        crowd.append(bool(iscrowd))
    ids = np.asarray(ids, dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise FormatError(f'{where}: segments_info lists a segment id twice')
    return ids, np.asarray(cats, dtype=np.int64), np.asarray(crowd, dtype=bool)


def coco_segment_id(cat, inst, is_thing):
    """Segment id of ``(cat, inst)`` used by :func:`write_coco_panoptic`: ``cat + 1`` for stuff
    and thing crowd, ``cat + 1 + 256 * inst`` for thing tracks, so it is stable within a video."""
    return np.where(is_thing, cat + 1 + 256 * inst, cat + 1)


def write_coco_panoptic(path, cat, inst, thing_ids, zero_instance_is_crowd=True):
    """Write ``(cat, inst)`` (official ids, -1 void) as a COCO-panoptic RGB PNG and return its
    ``segments_info`` (``id``, ``category_id``, ``iscrowd``, ``area``): stuff first by category,
    then things by category and instance, as the fixtures' reference files list them.

    Ground truth marks thing pixels with ``inst == 0`` as crowd (``zero_instance_is_crowd``);
    predictions write them as ordinary segments.
    """
    cat, inst = check_cat_inst(cat, inst, path)
    if cat.max(initial=-1) >= 255 or inst.max(initial=0) >= 1 << 16:
        raise ValueError(f'{path}: write_coco_panoptic takes categories 0..254 and instance '
                         f'ids below 65536')
    is_thing = np.isin(cat, np.asarray(sorted(thing_ids), dtype=np.int64))
    ids = coco_segment_id(cat, inst, is_thing)
    ids[cat < 0] = 0
    write_png(path, id2rgb(ids))
    uniq, first, area = np.unique(ids.ravel(), return_index=True, return_counts=True)
    segments = []
    for sid, pos, n in zip(uniq.tolist(), first.tolist(), area.tolist()):
        if sid == 0:
            continue
        c = int(cat.flat[pos])
        thing = bool(is_thing.flat[pos])
        crowd = thing and zero_instance_is_crowd and int(inst.flat[pos]) == 0
        segments.append(dict(id=sid, category_id=c, iscrowd=int(crowd), area=n))
    segments.sort(key=lambda s: (s['category_id'] in thing_ids, s['category_id'], s['id']))
    return segments


# ----------------------------------------------------------------------------- VIPSeg JSONs
def vipseg_panoptic_json(videos, categories):
    """Official ``panoptic_gt_VIPSeg_<split>.json``: ``videos`` is a list of
    ``dict(video_id, frames=[dict(stem, height, width, segments_info)])``."""
    return dict(
        videos=[
            dict(video_id=v['video_id'],
                 images=[dict(id=f['stem'], width=int(f['width']), height=int(f['height']),
                              file_name=f['stem'] + '.png') for f in v['frames']])
            for v in videos
        ],
        annotations=[
            dict(video_id=v['video_id'],
                 annotations=[dict(image_id=f['stem'], file_name=f['stem'] + '.png',
                                   segments_info=f['segments_info']) for f in v['frames']])
            for v in videos
        ],
        categories=list(categories))


def vipseg_pred_json(videos):
    """Official VIPSeg ``pred.json``: ``videos`` is a list of
    ``dict(video_id, frames=[dict(stem, segments_info)])`` in the ground-truth order."""
    return dict(annotations=[
        dict(video_id=v['video_id'],
             annotations=[dict(image_id=f['stem'], file_name=f['stem'] + '.png',
                               segments_info=f['segments_info']) for f in v['frames']])
        for v in videos
    ])


_FIELD_TYPES = dict(
    annotations=list, videos=list, images=list, segments_info=list, categories=list,
    file_name=str, video_id=(str, int), image_id=(str, int), id=(str, int), name=str,
    height=int, width=int, isthing=(int, bool))


def _require(obj, keys, where, what):
    """Check ``obj`` is an object with ``keys``, none of them ``null`` and each of the JSON type
    the format gives it (``_FIELD_TYPES``; a bool is no integer)."""
    if not isinstance(obj, dict) or any(k not in obj for k in keys):
        raise FormatError(f'{where}: {what} needs the keys {list(keys)}')
    for k in keys:
        value, types = obj[k], _FIELD_TYPES.get(k, object)
        if value is None or not isinstance(value, types) or (
                isinstance(value, bool) and bool not in _as_tuple(types)):
            raise FormatError(f'{where}: {what} has {k}={value!r} '
                              f'({_type_name(types)} expected)')


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types, )


def _type_name(types):
    names = dict(list='a list', str='a string', int='an integer', bool='a boolean',
                 object='a value')
    return ' or '.join(names[t.__name__] for t in _as_tuple(types))


def parse_categories(data, where):
    """``categories`` of a COCO-panoptic JSON as a list of ``dict(id, name, isthing)``."""
    _require(data, ('categories', ), where, 'a panoptic JSON')
    cats = []
    for c in data['categories']:
        _require(c, ('id', 'name', 'isthing'), where, 'each category')
        if not is_json_int(c['id']):
            raise FormatError(f'{where}: category {c!r} has a non-integer id')
        cats.append(dict(c, id=int(c['id']), isthing=int(c['isthing'])))
    if len({c['id'] for c in cats}) != len(cats):
        raise FormatError(f'{where}: categories list an id twice')
    return cats


def read_vipseg_panoptic_json(path):
    """Load a VIPSeg panoptic JSON (ground truth, or ``pred.json`` which has no ``videos`` /
    ``categories``) into ``{video_id: [dict(image_id, file_name, height?, width?,
    segments_info)]}`` in file order, checking its structure (a video or a frame listed twice
    is an error)."""
    data = load_json(path)
    where = str(path)
    _require(data, ('annotations', ), where, 'a VIPSeg panoptic JSON')
    sizes = {}
    if 'videos' in data:
        _require(data, ('videos', ), where, 'a VIPSeg panoptic JSON')
    seen = set()
    for v in data.get('videos', []):
        _require(v, ('video_id', 'images'), where, 'each entry of videos')
        if v['video_id'] in seen:
            raise FormatError(f'{where}: video {v["video_id"]} is listed twice in videos')
        seen.add(v['video_id'])
        for im in v['images']:
            _require(im, ('id', 'width', 'height', 'file_name'), where, 'each image')
            key = (v['video_id'], im['file_name'])
            if key in sizes:
                raise FormatError(f'{where}: image {v["video_id"]}/{im["file_name"]} is '
                                  f'listed twice')
            sizes[key] = (im['height'], im['width'])
    videos = {}
    for v in data['annotations']:
        _require(v, ('video_id', 'annotations'), where, 'each entry of annotations')
        check_relative_name(v['video_id'], where)
        if v['video_id'] in videos:
            raise FormatError(f'{where}: video {v["video_id"]} is listed twice')
        frames, names = [], set()
        for a in v['annotations']:
            _require(a, ('file_name', 'segments_info'), where, 'each frame annotation')
            check_relative_name(a['file_name'], where, 'file name')
            if a['file_name'] in names:
                raise FormatError(f'{where}: frame {v["video_id"]}/{a["file_name"]} is '
                                  f'listed twice')
            names.add(a['file_name'])
            frame = dict(image_id=a.get('image_id', a['file_name'].rsplit('.', 1)[0]),
                         file_name=a['file_name'], segments_info=a['segments_info'])
            if sizes:
                if (v['video_id'], a['file_name']) not in sizes:
                    raise FormatError(f'{where}: annotation {v["video_id"]}/{a["file_name"]} '
                                      f'has no entry in videos[].images')
                frame['height'], frame['width'] = sizes[(v['video_id'], a['file_name'])]
            frames.append(frame)
        videos[v['video_id']] = frames
    return videos


# ----------------------------------------------------------------------- Cityscapes-VPS JSONs
def cityscapes_vps_label_name(image_file_name):
    """GT label file of an annotated Cityscapes-VPS image (``newImg8bit`` -> ``final_mask``,
    ``leftImg8bit`` -> ``gtFine_color``)."""
    return image_file_name.replace('_newImg8bit.png', '_final_mask.png').replace(
        '_leftImg8bit.png', '_gtFine_color.png')


def cityscapes_vps_image_id(file_name):
    """Image id of an annotated Cityscapes-VPS image or label file: the label name without its
    two suffix tokens (``..._final_mask.png`` / ``..._gtFine_color.png``)."""
    return cityscapes_vps_label_name(file_name).rsplit('_', 2)[0]


def cityscapes_vps_panoptic_json(frames, categories):
    """Official ``panoptic_gt_<split>_city_vps.json``: ``frames`` is a list of
    ``dict(file_name (image name), height, width, segments_info)``; images sorted by name."""
    frames = sorted(frames, key=lambda f: f['file_name'])
    return dict(
        images=[dict(id=cityscapes_vps_image_id(f['file_name']), width=int(f['width']),
                     height=int(f['height']), file_name=f['file_name']) for f in frames],
        annotations=[dict(image_id=cityscapes_vps_image_id(f['file_name']),
                          file_name=cityscapes_vps_label_name(f['file_name']),
                          segments_info=f['segments_info']) for f in frames],
        categories=list(categories))


def cityscapes_vps_pred_json(frames):
    """Official flat Cityscapes-VPS ``pred.json``: ``frames`` is a list of
    ``dict(image_id, segments_info)`` in the ground-truth ``images`` order; the PNG of each is
    ``pan_pred/<image_id>.png``."""
    return dict(annotations=[
        dict(image_id=f['image_id'], file_name=f['image_id'] + '.png',
             segments_info=f['segments_info']) for f in frames
    ])


def read_cityscapes_vps_panoptic_json(path):
    """Load a flat Cityscapes-VPS / VIPER panoptic JSON into a list of
    ``dict(image_id, file_name, label_file_name, height?, width?, segments_info)``. Ground
    truth (with ``images``) is returned in ``images`` order; ``pred.json`` in file order."""
    data = load_json(path)
    where = str(path)
    _require(data, ('annotations', ), where, 'a panoptic JSON')
    for a in data['annotations']:
        _require(a, ('segments_info', ), where, 'each annotation')
        for key in ('image_id', 'file_name'):
            if key in a:
                _require(a, (key, ), where, 'each annotation')
                check_relative_name(a[key], where, key)
    if 'images' not in data:
        ids = [a['image_id'] for a in data['annotations'] if 'image_id' in a]
        _check_unique(ids, where, 'image_id')
        return [dict(image_id=a.get('image_id'), file_name=a.get('file_name'),
                     segments_info=a['segments_info']) for a in data['annotations']]
    _require(data, ('images', ), where, 'a panoptic JSON')
    by_id = {}
    for a in data['annotations']:
        _require(a, ('image_id', 'file_name'), where, 'each annotation')
        if a['image_id'] in by_id:
            raise FormatError(f'{where}: image {a["image_id"]} has two annotations')
        by_id[a['image_id']] = a
    frames = []
    for im in data['images']:
        _require(im, ('id', 'file_name', 'height', 'width'), where, 'each image')
        check_relative_name(im['file_name'], where, 'file name')
        if im['id'] not in by_id:
            raise FormatError(f'{where}: image {im["id"]} has no annotation')
        a = by_id[im['id']]
        frames.append(dict(image_id=im['id'], file_name=im['file_name'],
                           label_file_name=a['file_name'], height=im['height'],
                           width=im['width'], segments_info=a['segments_info']))
    _check_unique([f['image_id'] for f in frames], where, 'image id')
    return frames


def _check_unique(values, where, what):
    seen = set()
    for value in values:
        if value in seen:
            raise FormatError(f'{where}: {what} {value!r} is listed twice')
        seen.add(value)
