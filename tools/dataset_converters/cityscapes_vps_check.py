"""Check a Cityscapes-VPS tree (``data/cityscapes_vps``) before training or evaluating on it.

For every split folder present (train, val, test) it checks that

* ``<split>/img`` names follow ``VVVV_GGGG_<city>_<seq>_<frame>_{newImg8bit|leftImg8bit}.png`` and
  every video has 6 annotated frames, 5 frames apart (frames 5, 10, ..., 30 of its snippet);
* every annotated frame has its label, with the same size: ``train/labelmap`` and
  ``val/panoptic_video`` (plus ``<split>/labelmap`` wherever that folder exists), named with
  ``newImg8bit -> final_mask``, ``leftImg8bit -> gtFine_color``, and no label lacks its frame;
* ``<split>/img_all`` holds the 30 frames of every snippet (``<city>_<seq>_<frame>_leftImg8bit``):
  for the videos of ``<split>/img`` exactly the 30 frames around them, otherwise runs of
  consecutive frames whose lengths are multiples of 30;
* the shipped JSONs list only existing files (``panoptic_im_<split>``,
  ``instances_<split>_..._rle``, ``im_all_info_<split>``, ``panoptic_gt_val``) and
  ``panoptic_gt_val`` covers ``val/img``.

It prints a report and exits with 1 when anything is wrong (each problem names its file).

Example::

    python tools/dataset_converters/cityscapes_vps_check.py data/cityscapes_vps
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from collections import defaultdict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import ConversionError, open_image  # noqa: E402

SPLITS = ('train', 'val', 'test')
FRAMES_PER_VIDEO = 6
FRAME_STRIDE = 5
SNIPPET_LENGTH = 30
IMG_NAME = re.compile(
    r'^(\d{4})_(\d{4})_([A-Za-z]+)_(\d{6})_(\d{6})_(newImg8bit|leftImg8bit)\.png$')
IMG_ALL_NAME = re.compile(r'^([A-Za-z]+)_(\d{6})_(\d{6})_leftImg8bit\.png$')
# Label folders every annotated frame of a split must have (others are checked when present).
REQUIRED_LABELS = dict(train=('labelmap', ), val=('panoptic_video', ), test=())
OPTIONAL_LABELS = ('labelmap', )
JSONS = dict(
    train=('panoptic_im_train_city_vps.json', 'instances_train_city_vps_rle.json'),
    val=('panoptic_im_val_city_vps.json', 'instances_val_city_vps_rle.json',
         'im_all_info_val_city_vps.json', 'panoptic_gt_val_city_vps.json'),
    test=('panoptic_im_test_city_vps.json', 'im_all_info_test_city_vps.json'))


def label_name(image_name):
    """Label file of an annotated frame (the official suffix mapping)."""
    return image_name.replace('_newImg8bit.png', '_final_mask.png').replace(
        '_leftImg8bit.png', '_gtFine_color.png')


def list_pngs(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith('.png')) if osp.isdir(folder) \
        else []


class Checker:
    """Collects the report lines and the problems of one tree."""

    def __init__(self, root):
        self.root = root
        self.lines, self.problems = [], []

    def problem(self, path, message):
        self.problems.append(f'{path}: {message}')

    def check_videos(self, split, names):
        """Group annotated frames by video and check 6 frames, 5 apart; return
        ``{video: [(city, seq, frame), ...]}``."""
        folder = osp.join(self.root, split, 'img')
        videos = defaultdict(list)
        for name in names:
            m = IMG_NAME.match(name)
            if m is None:
                self.problem(osp.join(folder, name), 'name is not VVVV_GGGG_<city>_<seq>_<frame>_'
                             '{newImg8bit|leftImg8bit}.png')
                continue
            videos[m.group(1)].append((m.group(3), m.group(4), int(m.group(5))))
        for video, frames in sorted(videos.items()):
            frames.sort()
            where = osp.join(folder, f'{video}_*')
            if len(frames) != FRAMES_PER_VIDEO:
                self.problem(where, f'{len(frames)} annotated frames, expected {FRAMES_PER_VIDEO}')
            elif len({f[:2] for f in frames}) != 1 or any(
                    b[2] - a[2] != FRAME_STRIDE for a, b in zip(frames, frames[1:])):
                self.problem(where, f'annotated frames {[f[2] for f in frames]} are not one '
                             f'sequence {FRAME_STRIDE} frames apart')
        return videos

    def check_labels(self, split, names):
        """Every annotated frame has its label of the same size in each label folder."""
        folders = set(REQUIRED_LABELS[split]) | {
            f for f in OPTIONAL_LABELS if osp.isdir(osp.join(self.root, split, f))}
        for sub in sorted(folders):
            folder = osp.join(self.root, split, sub)
            if not osp.isdir(folder):
                self.problem(folder, f'label folder missing ({split} frames need it)')
                continue
            labels = set(list_pngs(folder))
            expected = {label_name(n): n for n in names}
            for label in sorted(labels - set(expected)):
                self.problem(osp.join(folder, label), 'label without an annotated frame')
            found = 0
            for label, name in sorted(expected.items()):
                path = osp.join(folder, label)
                if label not in labels:
                    self.problem(path, f'label of {osp.join(split, "img", name)} missing')
                    continue
                try:
                    with open_image(path) as lab, \
                            open_image(osp.join(self.root, split, 'img', name)) as img:
                        if lab.size != img.size:
                            self.problem(path, f'size {lab.size} differs from its frame '
                                         f'{img.size}')
                            continue
                except ConversionError as err:
                    self.problems.append(str(err))
                    continue
                found += 1
            self.lines.append(f'{split}/{sub}: {found} of {len(expected)} labels')

    def check_img_all(self, split, videos):
        """``img_all`` has the 30-frame snippet of every video (or whole 30-frame runs)."""
        folder = osp.join(self.root, split, 'img_all')
        frames = set()
        for name in list_pngs(folder):
            m = IMG_ALL_NAME.match(name)
            if m is None:
                self.problem(osp.join(folder, name), 'name is not <city>_<seq>_<frame>_'
                             'leftImg8bit.png')
                continue
            frames.add((m.group(1), m.group(2), int(m.group(3))))
        if videos:
            wanted = set()
            for video, annotated in sorted(videos.items()):
                city, seq, first = annotated[0]
                start = first - (FRAME_STRIDE - 1)
                snippet = {(city, seq, f) for f in range(start, start + SNIPPET_LENGTH)}
                missing = sorted(snippet - frames)
                if missing:
                    self.problem(folder, f'video {video}: {len(missing)} of its {SNIPPET_LENGTH} '
                                 f'frames missing, e.g. {self._img_all_name(missing[0])}')
                wanted |= snippet
            for extra in sorted(frames - wanted):
                self.problem(osp.join(folder, self._img_all_name(extra)),
                             f'frame of no video in {split}/img')
        else:
            runs = self._runs(frames)
            for (city, seq, start), length in runs:
                if length % SNIPPET_LENGTH:
                    self.problem(osp.join(folder, self._img_all_name((city, seq, start))),
                                 f'run of {length} consecutive frames, not a multiple of '
                                 f'{SNIPPET_LENGTH}')
        self.lines.append(f'{split}/img_all: {len(frames)} frames')

    @staticmethod
    def _img_all_name(frame):
        city, seq, f = frame
        return f'{city}_{seq}_{f:06d}_leftImg8bit.png'

    @staticmethod
    def _runs(frames):
        """Consecutive-frame runs ``((city, seq, first), length)``."""
        runs = []
        for city, seq, f in sorted(frames):
            if runs and runs[-1][0][:2] == (city, seq) and runs[-1][0][2] + runs[-1][1] == f:
                runs[-1][1] += 1
            else:
                runs.append([(city, seq, f), 1])
        return runs

    def check_json(self, name, split):
        """The JSON's image (and, for panoptic GT, annotation) files exist."""
        path = osp.join(self.root, name)
        if not osp.isfile(path):
            self.problem(path, 'JSON missing')
            return
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
            images = [im['file_name'] for im in data['images']]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
            self.problem(path, f'not a COCO-style JSON with images[].file_name ({err!r})')
            return
        sub = 'img_all' if name.startswith('im_all_info') else 'img'
        folder = osp.join(self.root, split, sub)
        present = set(list_pngs(folder))
        missing = [n for n in images if n not in present]
        if missing:
            self.problem(path, f'{len(missing)} of {len(images)} images are not in {folder}, '
                         f'e.g. {missing[0]}')
        if sub == 'img_all' and len(images) % SNIPPET_LENGTH:
            self.problem(path, f'{len(images)} images, not {SNIPPET_LENGTH} per video')
        if name.startswith('panoptic_gt'):
            self._check_panoptic_gt(path, data, present)
        self.lines.append(f'{name}: {len(images)} images')

    def _check_panoptic_gt(self, path, data, frames):
        folder = osp.join(self.root, 'val', 'panoptic_video')
        labels = set(list_pngs(folder))
        try:
            annotated = [a['file_name'] for a in data['annotations']]
        except (KeyError, TypeError) as err:
            self.problem(path, f'annotations[].file_name missing ({err!r})')
            return
        missing = [n for n in annotated if n not in labels]
        if missing:
            self.problem(path, f'{len(missing)} annotation files are not in {folder}, e.g. '
                         f'{missing[0]}')
        listed = {im['file_name'] for im in data['images']}
        unlisted = sorted(frames - listed)
        if unlisted:
            self.problem(path, f'{len(unlisted)} frames of val/img are not listed, e.g. '
                         f'{unlisted[0]}')

    def run(self):
        splits = [s for s in SPLITS if osp.isdir(osp.join(self.root, s))]
        if not splits:
            self.problem(self.root, 'no train/, val/ or test/ folder')
        for split in splits:
            names = list_pngs(osp.join(self.root, split, 'img'))
            videos = self.check_videos(split, names) if names else {}
            self.lines.append(f'{split}/img: {len(videos)} videos, {len(names)} annotated frames')
            if names:
                self.check_labels(split, names)
            elif split != 'test':
                self.problem(osp.join(self.root, split, 'img'), 'no annotated frames')
            if split != 'train':
                if osp.isdir(osp.join(self.root, split, 'img_all')):
                    self.check_img_all(split, videos)
                else:
                    self.problem(osp.join(self.root, split, 'img_all'), 'folder missing')
            for name in JSONS[split]:
                self.check_json(name, split)
        return self.problems


def main():
    parser = argparse.ArgumentParser(description='Check a Cityscapes-VPS tree')
    parser.add_argument('root', help='Cityscapes-VPS root (data/cityscapes_vps)')
    args = parser.parse_args()
    checker = Checker(args.root)
    problems = checker.run()
    print(f'== Cityscapes-VPS tree {args.root}')
    for line in checker.lines:
        print(f'  {line}')
    print(f'  problems: {len(problems)}')
    for problem in problems:
        print(f'    {problem}', file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
