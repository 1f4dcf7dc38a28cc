"""Dataset converters (tools/dataset_converters) on tiny trees in the official layouts."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmvps.datasets.classes.vipseg import CATEGORIES as VIPSEG_CATEGORIES
from mmvps.datasets.formats import (load_coco_panoptic, load_vipseg_raw, read_png,
                                    read_vipseg_panoptic_json, rgb2id, write_png, write_step)

CONVERTERS = Path(__file__).resolve().parents[2] / 'tools' / 'dataset_converters'


def load_tool(name):
    """Import a converter script as a module (registered so worker processes find it)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CONVERTERS / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def write_jpg(path, width, height, seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)


def write_lines(path, names):
    Path(path).write_text(''.join(f'{n}\n' for n in names))


def mtimes(root):
    return {str(p): p.stat().st_mtime_ns for p in Path(root).rglob('*') if p.is_file()}


# ------------------------------------------------------------------------------ VIPSeg -> 720p
VIDEO_A, VIDEO_B, VIDEO_T = '0_wHveSGjXyDY', '127_-hIVCYO4C90', '353_-5sqmCF8OFU'
STEMS = ('00000166', '00000169')


def vipseg_raw_mask(height, width, seed):
    """Raw values: wall (1), sky (29), person tracks (6100, 6101), car (4900) and stray 200."""
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([1, 29, 6100, 6101, 4900, 200], dtype=np.uint16), (height, width))


@pytest.fixture
def vipseg_tree(tmp_path):
    """VIPSeg download layout: a train and a val video with masks, a test video without."""
    src = tmp_path / 'VIPSeg'
    sizes = {VIDEO_A: (48, 32), VIDEO_B: (45, 32), VIDEO_T: (40, 30)}  # (w, h)
    for k, (video, (w, h)) in enumerate(sizes.items()):
        for j, stem in enumerate(STEMS):
            write_jpg(src / 'imgs' / video / f'{stem}.jpg', w, h, seed=k * 10 + j)
            if video != VIDEO_T:
                write_png(src / 'panomasks' / video / f'{stem}.png',
                          vipseg_raw_mask(h, w, seed=k * 10 + j))
    write_lines(src / 'train.txt', [VIDEO_A])
    write_lines(src / 'val.txt', [VIDEO_B])
    write_lines(src / 'test.txt', [VIDEO_T])
    return src


def test_vipseg_to_720p_sizes_values_and_test_frames(vipseg_tree, tmp_path, capsys):
    tool = load_tool('vipseg_to_720p')
    out = tmp_path / 'VIPSeg_720P'
    assert tool.convert(str(vipseg_tree), str(out), nproc=2) == 0
    expected_width = {VIDEO_A: 1080, VIDEO_B: int(720 * 45 / 32), VIDEO_T: 960}
    assert expected_width[VIDEO_B] == 1012  # int() truncates, as the official script
    for video, width in expected_width.items():
        for stem in STEMS:
            with Image.open(out / 'images' / video / f'{stem}.jpg') as img:
                assert img.size == (width, 720) and img.mode == 'RGB'
    # masks: NEAREST resize of the raw values, 16-bit kept, 200 -> 0
    for video in (VIDEO_A, VIDEO_B):
        for stem in STEMS:
            src = np.asarray(Image.open(vipseg_tree / 'panomasks' / video / f'{stem}.png'))
            assert (src == 200).any()
            fixed = np.where(src == 200, 0, src).astype(np.uint16)
            expected = np.asarray(Image.fromarray(fixed).resize((expected_width[video], 720),
                                                                Image.NEAREST))
            got = read_png(out / 'panomasks' / video / f'{stem}.png', 'gray16')
            assert got.dtype == np.uint16
            np.testing.assert_array_equal(got, expected)
            assert set(np.unique(got)) == {0, 1, 29, 4900, 6100, 6101}
    # test video: frames converted (unlike the official script), no masks
    assert not (out / 'panomasks' / VIDEO_T).exists()
    assert (out / 'test.txt').read_text() == (vipseg_tree / 'test.txt').read_text()
    report = capsys.readouterr().out
    assert 'images written: 6' in report and 'masks written: 4' in report
    assert 'masks with values [200] set to 0: 4' in report
    assert 'videos without masks (test): 1' in report


def test_vipseg_to_720p_is_resumable(vipseg_tree, tmp_path, capsys):
    tool = load_tool('vipseg_to_720p')
    out = tmp_path / 'VIPSeg_720P'
    assert tool.convert(str(vipseg_tree), str(out), nproc=1) == 0
    before = mtimes(out)
    capsys.readouterr()
    assert tool.convert(str(vipseg_tree), str(out), nproc=1) == 0
    report = capsys.readouterr().out
    assert mtimes(out) == before  # second run writes nothing
    assert 'images already done: 6' in report and 'masks already done: 4' in report
    assert 'written' not in report.replace('side files', '')

    # an interrupted run: a temporary file left behind and a truncated output
    stale = out / 'images' / VIDEO_A / '.00000166.jpg.999.mmvps-tmp'
    stale.write_bytes(b'partial')
    truncated = out / 'panomasks' / VIDEO_B / '00000169.png'
    truncated.write_bytes(truncated.read_bytes()[:100])
    assert tool.convert(str(vipseg_tree), str(out), nproc=1) == 0
    report = capsys.readouterr().out
    assert not stale.exists()
    assert 'removed 1 temporary files' in report
    assert 'masks replaced (invalid): 1' in report and 'masks already done: 3' in report
    assert read_png(truncated, 'gray16').shape == (720, 1012)


def test_vipseg_to_720p_reports_bad_files(vipseg_tree, tmp_path, capsys):
    tool = load_tool('vipseg_to_720p')
    empty = vipseg_tree / 'imgs' / VIDEO_B / '00000172.jpg'
    empty.write_bytes(b'')
    write_png(vipseg_tree / 'panomasks' / VIDEO_B / '00000172.png',
              np.ones((32, 45), dtype=np.uint16))
    unpaired = vipseg_tree / 'imgs' / VIDEO_A / '00000172.jpg'
    write_jpg(unpaired, 48, 32)
    out = tmp_path / 'VIPSeg_720P'
    assert tool.convert(str(vipseg_tree), str(out), nproc=1) == 1
    captured = capsys.readouterr()
    assert f'{empty}: empty file' in captured.err
    assert f'{unpaired}: frame without a mask' in captured.err
    assert 'errors: 2' in captured.err
    assert (out / 'images' / VIDEO_B / '00000166.jpg').is_file()  # the rest is converted


# ------------------------------------------------------------------------------ VSPW -> 480p
def test_vspw_to_480p(tmp_path, capsys):
    tool = load_tool('vspw_to_480p')
    src, out = tmp_path / 'VSPW', tmp_path / 'VSPW_480p'
    mask = np.random.default_rng(0).choice(np.array([0, 1, 7, 124, 255], np.uint8), (30, 50))
    for stem in STEMS:
        write_jpg(src / 'data' / VIDEO_A / 'origin' / f'{stem}.jpg', 50, 30)
        write_png(src / 'data' / VIDEO_A / 'mask' / f'{stem}.png', mask)
        write_jpg(src / 'data' / VIDEO_T / 'origin' / f'{stem}.jpg', 64, 48)
    write_lines(src / 'train.txt', [VIDEO_A])
    write_lines(src / 'test.txt', [VIDEO_T])
    assert tool.convert(str(src), str(out), nproc=1) == 0
    with Image.open(out / 'data' / VIDEO_A / 'origin' / '00000166.jpg') as img:
        assert img.size == (800, 480)
    with Image.open(out / 'data' / VIDEO_T / 'origin' / '00000169.jpg') as img:
        assert img.size == (640, 480)
    got = read_png(out / 'data' / VIDEO_A / 'mask' / '00000169.png', 'gray8')
    np.testing.assert_array_equal(
        got, np.asarray(Image.fromarray(mask).resize((800, 480), Image.NEAREST)))
    assert not (out / 'data' / VIDEO_T / 'mask').exists()
    before = mtimes(out)
    capsys.readouterr()
    assert tool.convert(str(src), str(out), nproc=1) == 0
    assert mtimes(out) == before
    assert 'images already done: 4' in capsys.readouterr().out


# ------------------------------------------------------------------------------ VIPSeg -> COCO
@pytest.fixture
def vipseg_720p_tree(tmp_path):
    """Raw masks of a train video (two person tracks crossing two frames, a car, stuff) and a
    val video, as after vipseg_to_720p."""
    root = tmp_path / 'VIPSeg_720P'
    a0 = np.array([[1, 1, 6100, 6100], [29, 29, 6101, 4900], [7, 7, 200, 0]], np.uint16)
    a1 = np.array([[1, 6101, 6101, 1], [29, 29, 6100, 4900], [7, 4900, 4900, 0]], np.uint16)
    b0 = np.array([[19, 19, 6100], [4900, 4901, 3]], np.uint16)  # 3: door without instance
    for video, masks in ((VIDEO_A, (a0, a1)), (VIDEO_B, (b0, ))):
        for stem, mask in zip(STEMS, masks):
            write_png(root / 'panomasks' / video / f'{stem}.png', mask)
    write_lines(root / 'train.txt', [VIDEO_A])
    write_lines(root / 'val.txt', [VIDEO_B])
    return root


def category(name):
    return next(c for c in VIPSEG_CATEGORIES if c['name'] == name)


def color_id(color):
    return color[0] + 256 * color[1] + 65536 * color[2]


def test_vipseg_to_coco_schema_ids_and_round_trip(vipseg_720p_tree, capsys):
    tool = load_tool('vipseg_to_coco')
    root = vipseg_720p_tree
    assert tool.convert(str(root), nproc=2) == 0
    assert 'frames with the stray value 200 (void): 1' in capsys.readouterr().out

    data = json.loads((root / 'panoptic_gt_VIPSeg_train.json').read_text())
    assert set(data) == {'videos', 'annotations', 'categories'}
    assert data['videos'] == [dict(video_id=VIDEO_A, images=[
        dict(id=stem, width=4, height=3, file_name=f'{stem}.png') for stem in STEMS])]
    assert [a['image_id'] for a in data['annotations'][0]['annotations']] == list(STEMS)
    assert data['categories'][60] == dict(id=60, name='person', isthing=1, color=[11, 200, 200])

    thing_ids = [c['id'] for c in VIPSEG_CATEGORIES if c['isthing']]
    for split, video in (('train', VIDEO_A), ('val', VIDEO_B)):
        frames = read_vipseg_panoptic_json(root / f'panoptic_gt_VIPSeg_{split}.json')[video]
        raw_to_coco = {}
        for frame in frames:
            rgb_path = root / 'panomasksRGB' / video / frame['file_name']
            cat, inst = load_coco_panoptic(rgb_path, frame['segments_info'], thing_ids)
            raw_cat, raw_inst = load_vipseg_raw(root / 'panomasks' / video / frame['file_name'])
            np.testing.assert_array_equal(cat, raw_cat)  # same classes, 200 and 0 void
            np.testing.assert_array_equal(inst == 0, raw_inst == 0)
            for pair in set(zip(zip(raw_cat[raw_inst > 0], raw_inst[raw_inst > 0]),
                                inst[raw_inst > 0])):
                assert raw_to_coco.setdefault(pair[0], pair[1]) == pair[1]  # stable in video
            ids = rgb2id(read_png(rgb_path, 'rgb'))
            for seg in frame['segments_info']:
                assert seg['area'] == int((ids == seg['id']).sum())
                assert seg['iscrowd'] == int(seg['category_id'] == category('door')['id'])
        assert len(set(raw_to_coco.values())) == len(raw_to_coco)  # one id per track

    frame0 = data['annotations'][0]['annotations'][0]['segments_info']
    by_cat = {}
    for seg in frame0:
        by_cat.setdefault(seg['category_id'], []).append(seg['id'])
    # stuff id = category colour; the first person keeps the person colour (free); the car's
    # colour is taken by the stuff Playground_slide, so the car gets a perturbed one
    assert by_cat[category('wall')['id']] == [color_id(category('wall')['color'])]
    assert by_cat[category('Playground_slide')['id']] == [color_id((140, 140, 140))]
    assert color_id(category('person')['color']) in by_cat[60]
    assert len(by_cat[60]) == 2
    assert by_cat[category('car')['id']] != [color_id((140, 140, 140))]
    # segments listed in raw-value order, as the official script
    assert [s['category_id'] for s in frame0] == [0, 6, 28, 48, 60, 60]


def test_vipseg_to_coco_is_deterministic(vipseg_720p_tree, tmp_path):
    tool = load_tool('vipseg_to_coco')
    root = vipseg_720p_tree
    assert tool.convert(str(root), nproc=1) == 0
    first = {p: p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}
    assert tool.convert(str(root), nproc=1) == 0
    assert {p: p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()} == first


def test_vipseg_to_coco_reports_bad_masks(vipseg_720p_tree, capsys):
    tool = load_tool('vipseg_to_coco')
    bad = vipseg_720p_tree / 'panomasks' / VIDEO_B / '00000166.png'
    write_png(bad, np.full((2, 3), 250, np.uint16))  # raw 250: no VIPSeg category
    assert tool.convert(str(vipseg_720p_tree), nproc=1) == 1
    captured = capsys.readouterr()
    assert f'{bad}: raw values [250]' in captured.err
    assert 'panoptic_gt_VIPSeg_val.json not written' in captured.out
    assert not (vipseg_720p_tree / 'panoptic_gt_VIPSeg_val.json').exists()
    assert (vipseg_720p_tree / 'panoptic_gt_VIPSeg_train.json').is_file()


# ------------------------------------------------------------------------------ KITTI-STEP
@pytest.fixture
def kitti_tree(tmp_path):
    """KITTI's download layout: one frame per training sequence (two in 0002), one test
    sequence; the panoptic maps hold a car track with id 300 (> 255) and a crowd car."""
    tool = load_tool('kitti_step_prepare')
    kitti = tmp_path / 'kitti'
    cat = np.array([[0, 13, 13], [11, 13, -1]])
    inst = np.array([[0, 300, 300], [1, 0, 0]])
    for seq in tool.TRAIN_SEQUENCES + tool.VAL_SEQUENCES:
        frames = ('000000', '000001') if seq == '0002' else ('000000', )
        for frame in frames:
            write_png(kitti / 'training' / 'image_02' / seq / f'{frame}.png',
                      np.full((2, 3, 3), int(seq), np.uint8))
            write_step(kitti / 'training' / 'panoptic' / seq / f'{frame}.png', cat, inst)
    write_png(kitti / 'testing' / 'image_02' / '0000' / '000000.png', np.zeros((2, 3, 3), np.uint8))
    return kitti


def test_kitti_step_prepare_layout_and_resume(kitti_tree, tmp_path, capsys):
    tool = load_tool('kitti_step_prepare')
    out = tmp_path / 'kitti-step'
    assert tool.prepare(str(kitti_tree), str(out), nproc=2) == 0
    assert sorted(p.name for p in (out / 'images' / 'train').iterdir()) == list(
        tool.TRAIN_SEQUENCES)
    assert sorted(p.name for p in (out / 'panoptic_maps' / 'val').iterdir()) == list(
        tool.VAL_SEQUENCES)
    assert sorted(p.name for p in (out / 'images' / 'val' / '0002').iterdir()) == [
        '000000.png', '000001.png']
    assert (out / 'images' / 'test' / '0000' / '000000.png').is_file()
    assert not (out / 'panoptic_maps' / 'test').exists()
    src = kitti_tree / 'training' / 'panoptic' / '0006' / '000000.png'
    assert (out / 'panoptic_maps' / 'val' / '0006' / '000000.png').read_bytes() == \
        src.read_bytes()
    report = capsys.readouterr().out
    assert 'train frames: 12' in report and 'val frames: 10' in report
    assert 'test frames: 1' in report and 'panoptic maps written: 22' in report

    before = mtimes(out)
    assert tool.prepare(str(kitti_tree), str(out), nproc=1) == 0
    assert mtimes(out) == before
    report = capsys.readouterr().out
    assert 'images already done: 23' in report and 'panoptic maps already done: 22' in report


def test_kitti_step_prepare_reports_problems(kitti_tree, tmp_path, capsys):
    tool = load_tool('kitti_step_prepare')
    lonely = kitti_tree / 'training' / 'image_02' / '0003' / '000001.png'
    write_png(lonely, np.zeros((2, 3, 3), np.uint8))
    gray = kitti_tree / 'training' / 'panoptic' / '0004' / '000000.png'
    write_png(gray, np.zeros((2, 3), np.uint8))
    assert tool.prepare(str(kitti_tree), str(tmp_path / 'out'), nproc=1) == 1
    err = capsys.readouterr().err
    assert f'{lonely}: frame without a panoptic map' in err
    assert f'{gray}: panoptic map has mode L, expected RGB' in err


def test_kitti_step_prepare_symlinks(kitti_tree, tmp_path):
    tool = load_tool('kitti_step_prepare')
    out = tmp_path / 'kitti-step'
    assert tool.prepare(str(kitti_tree), str(out), nproc=1, symlink=True) == 0
    link = out / 'images' / 'train' / '0000' / '000000.png'
    assert link.is_symlink()
    assert Path(os.readlink(link)) == kitti_tree / 'training' / 'image_02' / '0000' / '000000.png'


# ------------------------------------------------------------------------------ Cityscapes-VPS
def cityscapes_video(root, split, video, city, seq, first, labels, img_all=True):
    """One Cityscapes-VPS video: 6 annotated frames ``first, first+5, ..`` (the 4th with the
    leftImg8bit suffix), their labels and the 30 ``img_all`` frames ``first-4 .. first+25``."""
    tiny = np.zeros((2, 4, 3), np.uint8)
    names = []
    for j in range(6):
        suffix = 'leftImg8bit' if j == 3 else 'newImg8bit'
        name = f'{video:04d}_{(video - 1) * 6 + j + 1:04d}_{city}_{seq:06d}_{first + 5 * j:06d}_' \
            f'{suffix}.png'
        write_png(root / split / 'img' / name, tiny)
        label = name.replace('_newImg8bit', '_final_mask').replace('_leftImg8bit', '_gtFine_color')
        for folder in labels:
            write_png(root / split / folder / label, tiny if folder == 'panoptic_video' else
                      np.zeros((2, 4), np.uint8))
        names.append((name, label))
    all_names = [f'{city}_{seq:06d}_{f:06d}_leftImg8bit.png' for f in range(first - 4, first + 26)]
    if img_all:
        for name in all_names:
            write_png(root / split / 'img_all' / name, tiny)
    return names, all_names


def dump(path, obj):
    Path(path).write_text(json.dumps(obj))


@pytest.fixture
def cityscapes_vps_tree(tmp_path):
    root = tmp_path / 'cityscapes_vps'
    train, _ = cityscapes_video(root, 'train', 1, 'aachen', 0, 5, ['labelmap'], img_all=False)
    val, val_all = cityscapes_video(root, 'val', 5, 'frankfurt', 0, 1736, ['panoptic_video'])
    test, test_all = cityscapes_video(root, 'test', 9, 'munster', 173, 10, [])
    for split, frames in (('train', train), ('val', val), ('test', test)):
        images = [dict(id=n[:-4], file_name=n) for n, _ in frames]
        dump(root / f'panoptic_im_{split}_city_vps.json', dict(images=images))
        if split != 'test':
            dump(root / f'instances_{split}_city_vps_rle.json', dict(images=images))
    for split, names in (('val', val_all), ('test', test_all)):
        dump(root / f'im_all_info_{split}_city_vps.json',
             dict(images=[dict(id=i, file_name=n) for i, n in enumerate(names)]))
    dump(root / 'panoptic_gt_val_city_vps.json', dict(
        images=[dict(id=n.rsplit('_', 2)[0], file_name=n) for n, _ in val],
        annotations=[dict(image_id=n.rsplit('_', 2)[0], file_name=lab, segments_info=[])
                     for n, lab in val]))
    return root


def test_cityscapes_vps_check_accepts_a_complete_tree(cityscapes_vps_tree):
    checker = load_tool('cityscapes_vps_check').Checker(str(cityscapes_vps_tree))
    assert checker.run() == []
    assert 'val/img: 1 videos, 6 annotated frames' in checker.lines
    assert 'val/panoptic_video: 6 of 6 labels' in checker.lines
    assert 'test/img_all: 30 frames' in checker.lines


def test_cityscapes_vps_check_names_each_problem(cityscapes_vps_tree):
    root = cityscapes_vps_tree
    label = root / 'val' / 'panoptic_video' / '0005_0027_frankfurt_000000_001746_final_mask.png'
    label.unlink()
    (root / 'val' / 'img_all' / 'frankfurt_000000_001760_leftImg8bit.png').unlink()
    extra = root / 'test' / 'img' / '0009_0054_munster_000173_000040_newImg8bit.png'
    write_png(extra, np.zeros((2, 4, 3), np.uint8))  # a 7th frame
    write_png(root / 'train' / 'labelmap' / '0001_0004_aachen_000000_000020_gtFine_color.png',
              np.zeros((3, 4), np.uint8))  # wrong size
    problems = load_tool('cityscapes_vps_check').Checker(str(root)).run()
    joined = '\n'.join(problems)
    assert f'{label}: label of val/img/0005_0027_frankfurt_000000_001746_newImg8bit.png ' \
        'missing' in joined
    assert 'video 0005: 1 of its 30 frames missing, e.g. frankfurt_000000_001760' in joined
    assert '0009_*: 7 annotated frames, expected 6' in joined
    assert 'gtFine_color.png: size (4, 3) differs from its frame (4, 2)' in joined
    assert 'panoptic_gt_val_city_vps.json: 1 annotation files are not in' in joined
    assert 'im_all_info_val_city_vps.json: 1 of 30 images are not in' in joined
    assert len(problems) == 6, problems


def test_cityscapes_vps_check_cli_exit_code(cityscapes_vps_tree):
    import subprocess
    script = CONVERTERS / 'cityscapes_vps_check.py'
    ok = subprocess.run([sys.executable, str(script), str(cityscapes_vps_tree)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and 'problems: 0' in ok.stdout
    (cityscapes_vps_tree / 'im_all_info_val_city_vps.json').unlink()
    bad = subprocess.run([sys.executable, str(script), str(cityscapes_vps_tree)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert 'im_all_info_val_city_vps.json: JSON missing' in bad.stderr


def hand_png(path, rows, depth, colour, width):
    """A PNG written byte by byte (PIL writes neither 16-bit RGB nor 2-bit gray)."""
    import struct
    import zlib

    def chunk(tag, data):
        return (struct.pack('>I', len(data)) + tag + data
                + struct.pack('>I', zlib.crc32(tag + data) & 0xFFFFFFFF))

    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack('>IIBBBBB', width, len(rows), depth, colour, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
                     + chunk(b'IDAT', zlib.compress(b''.join(b'\0' + r for r in rows)))
                     + chunk(b'IEND', b''))


def test_label_pngs_of_a_bit_depth_pil_misreads(kitti_tree, tmp_path, capsys):
    """16-bit RGB (PIL keeps the high bytes) and 2-bit gray (PIL scales 0..3 to 0..255) label
    maps are reported, naming the file, instead of being copied / resized with wrong values."""
    pan = kitti_tree / 'training' / 'panoptic' / '0004' / '000000.png'
    with Image.open(pan) as img:
        width, height = img.size
    hand_png(pan, [bytes(6 * width)] * height, 16, 2, width)
    assert load_tool('kitti_step_prepare').prepare(str(kitti_tree), str(tmp_path / 'out'),
                                                   nproc=1) == 1
    assert f'{pan}: 16-bit RGB PNG where the format needs 8-bit RGB' in capsys.readouterr().err

    src = tmp_path / 'VSPW'
    write_jpg(src / 'data' / VIDEO_A / 'origin' / f'{STEMS[0]}.jpg', 4, 2)
    mask = src / 'data' / VIDEO_A / 'mask' / f'{STEMS[0]}.png'
    hand_png(mask, [bytes([0b00011011])] * 2, 2, 0, 4)
    write_lines(src / 'train.txt', [VIDEO_A])
    assert load_tool('vspw_to_480p').convert(str(src), str(tmp_path / 'VSPW_480p'), nproc=1) == 1
    assert f'{mask}: 2-bit gray PNG where the format needs 8-bit gray' in capsys.readouterr().err
