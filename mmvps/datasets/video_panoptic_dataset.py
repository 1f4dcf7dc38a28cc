"""A video panoptic dataset of your own: VIPSeg's layouts with the classes of a category file or
of ``metainfo`` (docs/custom_dataset.md)."""
import os.path as osp
from typing import List, Optional, Sequence

from mmvps.registry import DATASETS
from .formats import FormatError, load_json
from .vipseg_dataset import VIPSegDataset

# VIPSeg's raw 16-bit encoding (docs/conventions.md §2): stuff value = id + 1 < 125, thing value
# = (id + 1) * 100 + instance with 200 void, so thing ids start at 2
RAW_MAX_STUFF_ID = 123
RAW_MIN_THING_ID = 2


def default_color(category_id: int) -> tuple:
    """A fixed colour for a category without one (golden-ratio hue steps)."""
    import colorsys
    hue = (category_id * 0.6180339887498949) % 1.0
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, 0.65, 0.9))


def check_categories(categories, source: str) -> List[dict]:
    """Validated ``dict(id, name, isthing, color)`` list of a category file or of ``metainfo``
    (``source`` names it in errors): unique ids >= 0 and unique names; ``color`` optional."""
    if not isinstance(categories, (list, tuple)) or not categories:
        raise FormatError(f'{source}: expected a non-empty list of categories '
                          '{"id", "name", "isthing"[, "color"]}')
    checked = []
    for i, category in enumerate(categories):
        if not isinstance(category, dict) or not {'id', 'name', 'isthing'} <= set(category):
            raise FormatError(f'{source}: category {i} ({category!r}) needs id, name and isthing')
        if not isinstance(category['id'], int) or category['id'] < 0:
            raise FormatError(f'{source}: category {category["name"]!r} has id '
                              f'{category["id"]!r}; ids are integers >= 0')
        color = category.get('color') or default_color(category['id'])
        if len(color) != 3:
            raise FormatError(f'{source}: category {category["name"]!r} has color {color!r}, '
                              'expected [R, G, B]')
        checked.append(dict(id=category['id'], name=str(category['name']),
                            isthing=int(bool(category['isthing'])),
                            color=tuple(int(c) for c in color)))
    for key in ('id', 'name'):
        values = [c[key] for c in checked]
        repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
        if repeated:
            raise FormatError(f'{source}: category {key}s listed twice: {repeated}')
    return checked


def categories_from_metainfo(metainfo: dict) -> List[dict]:
    """Categories of ``metainfo=dict(classes, thing_classes[, palette])``: the category id of a
    class is its position in ``classes`` (the value the masks store)."""
    classes = metainfo.get('classes')
    if not classes or isinstance(classes, str):
        raise ValueError('VideoPanopticDataset: metainfo needs "classes" (a list of names) when '
                         'no categories_file is given')
    things = set(metainfo.get('thing_classes', ()))
    unknown = sorted(things - set(classes))
    if unknown:
        raise ValueError(f'VideoPanopticDataset: thing_classes {unknown} are not in classes')
    palette = metainfo.get('palette')
    if palette is not None and len(palette) != len(classes):
        raise ValueError(f'VideoPanopticDataset: palette has {len(palette)} colours for '
                         f'{len(classes)} classes')
    return check_categories([
        dict(id=i, name=name, isthing=name in things, color=palette[i] if palette else None)
        for i, name in enumerate(classes)
    ], 'metainfo')


@DATASETS.register_module()
class VideoPanopticDataset(VIPSegDataset):
    """A video panoptic dataset in one of VIPSeg's two layouts with classes given at run time.

    The layouts are those of :class:`VIPSegDataset`: ``ann_file`` a split ``.txt`` (raw
    layout: ``imgs/<video>/<frame>.jpg`` and 16-bit ``panomasks/<video>/<frame>.png``) or a
    COCO-panoptic video JSON (``images/`` and RGB ``panomasksRGB/``, written e.g. with
    ``mmvps.datasets.formats.write_coco_panoptic``). The classes come from

    * ``categories_file``: a JSON list of ``{"id", "name", "isthing"[, "color"]}``, ids as the
      masks (or the JSON's ``category_id``) store them (relative paths are under
      ``data_root``); or
    * ``metainfo=dict(classes=[...], thing_classes=[...][, palette=[...]])``: the category id
      of a class is its position in ``classes``.

    Training labels are the thing classes, then the stuff classes (docs/conventions.md §1);
    ``metainfo['classes']`` may still select a subset when a ``categories_file`` is given. In
    the raw layout stuff ids must be <= 123 and thing ids >= 2 (VIPSeg's encoding).
    """

    CATEGORIES: Sequence[dict] = ()
    METAINFO: dict = dict(classes=(), thing_classes=(), stuff_classes=(), palette=[])

    def __init__(self,
                 ann_file: str = '',
                 *,
                 categories_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = '',
                 **kwargs):
        metainfo = dict(metainfo or {})
        if categories_file is not None:
            if data_root and not osp.isabs(categories_file):
                categories_file = osp.join(data_root, categories_file)
            categories = check_categories(load_json(categories_file), categories_file)
            if 'classes' not in metainfo:
                things = [c['name'] for c in categories if c['isthing']]
                metainfo['classes'] = tuple(things) + tuple(
                    c['name'] for c in categories if not c['isthing'])
        else:
            categories = categories_from_metainfo(metainfo)
            names = {c['name']: c for c in categories}
            metainfo['classes'] = tuple(n for n in names if names[n]['isthing']) + tuple(
                n for n in names if not names[n]['isthing'])
        metainfo.pop('thing_classes', None)
        metainfo.pop('palette', None)
        metainfo['categories'] = categories
        self.categories_file = categories_file
        super().__init__(ann_file, metainfo=metainfo, data_root=data_root, **kwargs)

    def load_videos(self):
        if self.layout == 'raw':
            source = self.categories_file or 'metainfo'
            for c in self.categories:
                if c['isthing'] and c['id'] < RAW_MIN_THING_ID or (not c['isthing'] and
                                                                   c['id'] > RAW_MAX_STUFF_ID):
                    raise FormatError(
                        f'{source}: category {c["name"]!r} ({"thing" if c["isthing"] else "stuff"}'
                        f', id {c["id"]}) cannot be stored in the raw layout (stuff ids <= '
                        f'{RAW_MAX_STUFF_ID}, thing ids >= {RAW_MIN_THING_ID}); use the COCO layout')
        return super().load_videos()
