"""Official on-disk formats: write-then-decode round trips, decoding rules and errors."""
import json

import numpy as np
import pytest
from PIL import Image

from mmvps.datasets.formats import (
    FormatError, cityscapes_vps_panoptic_json, cityscapes_vps_pred_json, decode_cityscapes_labelmap,
    decode_cityscapes_panoptic_inst, decode_coco_panoptic, decode_step, decode_vipseg_raw,
    decode_vspw, decode_vspw_prediction, dump_json, id2rgb, load_cityscapes_labelmap,
    load_cityscapes_panoptic_inst, load_coco_panoptic, load_segmentation, load_step,
    load_vipseg_raw, load_vspw, load_vspw_prediction, read_cityscapes_vps_panoptic_json,
    read_coco_panoptic_ids, read_png, read_vipseg_panoptic_json, rgb2id, vipseg_panoptic_json, vipseg_pred_json,
    write_cityscapes_labelmap, write_cityscapes_panoptic_inst, write_coco_panoptic, write_step,
    write_vipseg_raw, write_vspw, write_vspw_prediction)


def random_panoptic(rng, num_cats, thing_ids, max_inst, shape=(12, 17), crowd=True):
    """Random ``(cat, inst)``: void -1, stuff inst 0, things with tracks (and crowd 0)."""
    cat = rng.integers(-1, num_cats, shape)
    inst = rng.integers(0 if crowd else 1, max_inst + 1, shape)
    inst[~np.isin(cat, thing_ids)] = 0
    return cat, inst


def test_rgb2id_id2rgb_round_trip():
    ids = np.array([[0, 1, 255], [256, 65536, (1 << 24) - 1]])
    rgb = id2rgb(ids)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    assert rgb[1, 1].tolist() == [0, 0, 1] and rgb[1, 0].tolist() == [0, 1, 0]
    np.testing.assert_array_equal(rgb2id(rgb), ids)
    with pytest.raises(ValueError):
        id2rgb(np.array([1 << 24]))


def test_vipseg_raw_decoding_rules_and_round_trip(tmp_path):
    raw = np.array([[0, 200, 1, 124], [300, 6100, 6101, 12499]])
    cat, inst = decode_vipseg_raw(raw)
    assert cat.tolist() == [[-1, -1, 0, 123], [2, 60, 60, 123]]
    assert inst.tolist() == [[0, 0, 0, 0], [1, 1, 2, 100]]
    write_vipseg_raw(tmp_path / 'm.png', cat, inst)
    with Image.open(tmp_path / 'm.png') as img:
        assert img.mode == 'I;16'
    np.testing.assert_array_equal(read_png(tmp_path / 'm.png', 'gray16'), raw * (raw != 200))
    rng = np.random.default_rng(0)
    cat, inst = random_panoptic(rng, 124, np.arange(2, 124, 2), 100, crowd=False)
    write_vipseg_raw(tmp_path / 'r.png', cat, inst)
    for got, want in zip(load_vipseg_raw(tmp_path / 'r.png'), (cat, inst)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('value', [150, 250, 12500, 125])
def test_vipseg_raw_unknown_value(value):
    with pytest.raises(FormatError, match=r'^x\.png: raw values \[%d\]' % value):
        decode_vipseg_raw(np.array([[1, value]]), 'x.png')


def test_coco_panoptic_round_trip_and_schema(tmp_path):
    rng = np.random.default_rng(1)
    things = [11, 12, 13]
    cat, inst = random_panoptic(rng, 19, things, 900)
    info = write_coco_panoptic(tmp_path / 'p.png', cat, inst, things)
    assert all(set(s) == {'id', 'category_id', 'iscrowd', 'area'} for s in info)
    assert sum(s['area'] for s in info) == int((cat >= 0).sum())
    is_thing = [s['category_id'] in things for s in info]
    assert is_thing == sorted(is_thing)  # stuff listed before things
    crowd = {s['category_id'] for s in info if s['iscrowd']}
    assert crowd == {int(c) for c in np.unique(cat[np.isin(cat, things) & (inst == 0)])}
    np.testing.assert_array_equal(read_coco_panoptic_ids(tmp_path / 'p.png'),
                                  rgb2id(read_png(tmp_path / 'p.png', 'rgb')))
    got_cat, got_inst = load_coco_panoptic(tmp_path / 'p.png', info, things)
    np.testing.assert_array_equal(got_cat, cat)
    # a thing's instance is its segment id: the same (cat, inst) pairs, relabelled one to one
    track = inst > 0
    assert (got_inst[~track] == 0).all()
    pairs = set(zip(cat[track].tolist(), inst[track].tolist(), got_inst[track].tolist()))
    assert len({p[:2] for p in pairs}) == len(pairs) == len({p[2] for p in pairs})
    # predictions keep thing pixels with instance 0 as ordinary segments
    pred_info = write_coco_panoptic(tmp_path / 'q.png', cat, inst, things,
                                    zero_instance_is_crowd=False)
    assert not any(s['iscrowd'] for s in pred_info)
    _, pred_inst = load_coco_panoptic(tmp_path / 'q.png', pred_info, things)
    assert (pred_inst[np.isin(cat, things)] > 0).all()


def test_coco_panoptic_errors():
    rgb = id2rgb(np.array([[0, 5, 7]]))
    info = [dict(id=5, category_id=1, iscrowd=0), dict(id=7, category_id=2, iscrowd=0)]
    cat, inst = decode_coco_panoptic(rgb, info, thing_ids=[2], path='f.png')
    assert cat.tolist() == [[-1, 1, 2]] and inst.tolist() == [[0, 0, 7]]
    with pytest.raises(FormatError, match=r'^f\.png: segment ids \[7\] in the PNG are not listed'):
        decode_coco_panoptic(rgb, info[:1], [2], 'f.png')
    with pytest.raises(FormatError, match=r'^f\.png: segments_info lists ids \[9\]'):
        decode_coco_panoptic(rgb, info + [dict(id=9, category_id=1)], [2], 'f.png')
    with pytest.raises(FormatError, match=r'^f\.png: segment 7 has unknown category_id 2'):
        decode_coco_panoptic(rgb, info, [2], 'f.png', category_ids={0, 1})
    with pytest.raises(FormatError, match='twice'):
        decode_coco_panoptic(rgb, info + info[:1], [2], 'f.png')
    with pytest.raises(FormatError, match='lacks an integer id'):
        decode_coco_panoptic(rgb, [dict(id=5)], [2], 'f.png')


def test_step_round_trip_and_rules(tmp_path):
    rgb = np.array([[[13, 1, 2], [255, 0, 0], [11, 0, 0]]], dtype=np.uint8)
    cat, inst = decode_step(rgb)
    assert cat.tolist() == [[13, -1, 11]] and inst.tolist() == [[258, 0, 0]]
    rng = np.random.default_rng(2)
    cat, inst = random_panoptic(rng, 19, [11, 13], 70000 - 1)
    inst = np.minimum(inst, 65535)
    write_step(tmp_path / 's.png', cat, inst)
    for got, want in zip(load_step(tmp_path / 's.png'), (cat, inst)):
        np.testing.assert_array_equal(got, want)


def test_vspw_ground_truth_and_prediction(tmp_path):
    cat, _ = decode_vspw(np.array([[0, 1, 124, 125, 252, 255]]))
    assert cat.tolist() == [[-1, 0, 123, -1, -1, -1]]
    rng = np.random.default_rng(3)
    cat = rng.integers(-1, 124, (9, 11))
    write_vspw(tmp_path / 'g.png', cat)
    with Image.open(tmp_path / 'g.png') as img:
        assert img.mode == 'L'
    np.testing.assert_array_equal(load_vspw(tmp_path / 'g.png')[0], cat)
    write_vspw_prediction(tmp_path / 'p.png', cat)
    np.testing.assert_array_equal(read_png(tmp_path / 'p.png', 'gray8'),
                                  np.where(cat < 0, 255, cat))
    np.testing.assert_array_equal(load_vspw_prediction(tmp_path / 'p.png')[0], cat)
    with pytest.raises(FormatError, match=r'^p\.png: predicted labels \[124\]'):
        decode_vspw_prediction(np.array([[3, 124]]), 'p.png')


def test_cityscapes_panoptic_inst_and_labelmap(tmp_path):
    cat, inst = decode_cityscapes_panoptic_inst(np.array([[0, 255, 10, 11000, 13005, 18999]]))
    assert cat.tolist() == [[0, -1, 10, 11, 13, 18]]
    assert inst.tolist() == [[0, 0, 0, 1, 6, 1000]]
    rng = np.random.default_rng(4)
    cat, inst = random_panoptic(rng, 19, np.arange(11, 19), 1000, crowd=False)
    write_cityscapes_panoptic_inst(tmp_path / 'i.png', cat, inst)
    for got, want in zip(load_cityscapes_panoptic_inst(tmp_path / 'i.png'), (cat, inst)):
        np.testing.assert_array_equal(got, want)
    write_cityscapes_labelmap(tmp_path / 'l.png', cat)
    np.testing.assert_array_equal(load_cityscapes_labelmap(tmp_path / 'l.png')[0], cat)
    np.testing.assert_array_equal(
        load_segmentation(tmp_path / 'l.png', 'cityscapes_labelmap')[0], cat)
    with pytest.raises(FormatError, match=r'^l\.png: trainIds \[19\]'):
        decode_cityscapes_labelmap(np.array([[0, 19]]), 'l.png')


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(FormatError, match='missing.png: file not found'):
        read_png(tmp_path / 'missing.png', 'rgb')
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(FormatError, match='empty.png: empty file'):
        load_step(tmp_path / 'empty.png')
    write_vspw(tmp_path / 'ok.png', np.zeros((20, 20), np.int64))
    (tmp_path / 'cut.png').write_bytes((tmp_path / 'ok.png').read_bytes()[:40])
    with pytest.raises(FormatError, match='cut.png: unreadable or corrupt PNG'):
        load_vspw(tmp_path / 'cut.png')
    (tmp_path / 'text.png').write_text('not a png')
    with pytest.raises(FormatError, match='text.png: unreadable or corrupt PNG'):
        load_vspw(tmp_path / 'text.png')
    with pytest.raises(FormatError, match='ok.png: PNG mode L where the format needs rgb'):
        load_step(tmp_path / 'ok.png')
    write_vipseg_raw(tmp_path / 'deep.png', np.zeros((4, 4), np.int64), np.zeros((4, 4), np.int64))
    with pytest.raises(FormatError, match='deep.png: PNG mode I;16 where the format needs gray8'):
        load_vspw(tmp_path / 'deep.png')
    with pytest.raises(FormatError, match=r'x: label map has shape \(3, 3\), expected \(H, W, 3\)'):
        decode_step(np.zeros((3, 3), np.uint8), 'x')


def test_vipseg_json_schemas_round_trip(tmp_path):
    frames = [dict(stem='00000166', height=4, width=6, segments_info=[dict(id=1, category_id=0)]),
              dict(stem='00000169', height=4, width=6, segments_info=[])]
    gt = vipseg_panoptic_json([dict(video_id='0_wHveSGjXyDY', frames=frames)],
                              [dict(id=0, name='wall', isthing=0, color=[1, 2, 3])])
    assert set(gt) == {'videos', 'annotations', 'categories'}
    assert gt['videos'][0]['images'][0] == dict(id='00000166', width=6, height=4,
                                                file_name='00000166.png')
    assert gt['annotations'][0]['annotations'][1] == dict(
        image_id='00000169', file_name='00000169.png', segments_info=[])
    dump_json(tmp_path / 'gt.json', gt)
    videos = read_vipseg_panoptic_json(tmp_path / 'gt.json')
    assert list(videos) == ['0_wHveSGjXyDY']
    assert videos['0_wHveSGjXyDY'][0]['height'] == 4
    assert videos['0_wHveSGjXyDY'][0]['segments_info'] == [dict(id=1, category_id=0)]
    pred = vipseg_pred_json([dict(video_id='0_wHveSGjXyDY', frames=frames)])
    assert set(pred) == {'annotations'}
    dump_json(tmp_path / 'pred.json', pred)
    assert [f['file_name'] for f in read_vipseg_panoptic_json(tmp_path / 'pred.json')
            ['0_wHveSGjXyDY']] == ['00000166.png', '00000169.png']
    (tmp_path / 'bad.json').write_text(json.dumps(dict(annotations=[dict(video_id='v')])))
    with pytest.raises(FormatError, match='bad.json: each entry of annotations needs the keys'):
        read_vipseg_panoptic_json(tmp_path / 'bad.json')
    (tmp_path / 'broken.json').write_text('{"annotations": [')
    with pytest.raises(FormatError, match='broken.json: not valid JSON'):
        read_vipseg_panoptic_json(tmp_path / 'broken.json')


def test_cityscapes_vps_json_schemas(tmp_path):
    names = ['0005_0026_frankfurt_000000_001741_newImg8bit.png',
             '0005_0025_frankfurt_000000_001736_newImg8bit.png',
             '0005_0028_frankfurt_000000_001751_leftImg8bit.png']
    gt = cityscapes_vps_panoptic_json(
        [dict(file_name=n, height=2, width=3, segments_info=[]) for n in names], [])
    assert [im['id'] for im in gt['images']] == [
        '0005_0025_frankfurt_000000_001736', '0005_0026_frankfurt_000000_001741',
        '0005_0028_frankfurt_000000_001751']
    assert gt['annotations'][2]['file_name'] == '0005_0028_frankfurt_000000_001751_gtFine_color.png'
    assert gt['annotations'][0]['file_name'] == '0005_0025_frankfurt_000000_001736_final_mask.png'
    dump_json(tmp_path / 'gt.json', gt)
    frames = read_cityscapes_vps_panoptic_json(tmp_path / 'gt.json')
    assert frames[1]['label_file_name'] == '0005_0026_frankfurt_000000_001741_final_mask.png'
    pred = cityscapes_vps_pred_json([dict(image_id=f['image_id'], segments_info=[])
                                     for f in frames])
    assert pred['annotations'][0] == dict(image_id='0005_0025_frankfurt_000000_001736',
                                          file_name='0005_0025_frankfurt_000000_001736.png',
                                          segments_info=[])


def raw_png(path, rows, depth, colour):
    """Write a PNG by hand (PIL cannot write 16-bit RGB or 2-bit gray): ``rows`` are the packed
    scanline bytes."""
    import struct
    import zlib

    def chunk(tag, data):
        return (struct.pack('>I', len(data)) + tag + data
                + struct.pack('>I', zlib.crc32(tag + data) & 0xFFFFFFFF))

    width = len(rows[0]) * 8 // (depth * {0: 1, 2: 3}[colour])
    header = struct.pack('>IIBBBBB', width, len(rows), depth, colour, 0, 0, 0)
    data = zlib.compress(b''.join(b'\0' + row for row in rows))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', data)
                     + chunk(b'IEND', b''))
    return path


def test_png_bit_depth_is_checked(tmp_path):
    # 16 bits per channel: PIL would hand over the high bytes as an 8-bit RGB image
    rgb16 = np.zeros((2, 3, 3), '>u2')
    rgb16[..., 0] = 11 * 256 + 7
    raw_png(tmp_path / 'rgb16.png', [r.tobytes() for r in rgb16], 16, 2)
    with pytest.raises(FormatError, match='rgb16.png: 16-bit RGB PNG where the format needs '
                       '8-bit RGB'):
        load_step(tmp_path / 'rgb16.png')
    with pytest.raises(FormatError, match='rgb16.png: 16-bit RGB PNG'):
        read_coco_panoptic_ids(tmp_path / 'rgb16.png')
    # 2-bit gray: PIL scales 0..3 to 0..255
    raw_png(tmp_path / 'gray2.png', [bytes([0b00011011])] * 2, 2, 0)
    for load in (load_vspw, load_vspw_prediction, load_vipseg_raw, load_cityscapes_labelmap,
                 load_cityscapes_panoptic_inst):
        with pytest.raises(FormatError, match='gray2.png: 2-bit gray PNG where the format'):
            load(tmp_path / 'gray2.png')
    # a 2-bit palette keeps its indices: accepted for 8-bit label maps
    img = Image.fromarray(np.array([[0, 1, 2, 3]] * 2, np.uint8), 'P')
    img.putpalette([0, 0, 0] * 4)
    img.save(tmp_path / 'pal.png', bits=2)
    assert (tmp_path / 'pal.png').read_bytes()[24:26] == bytes([2, 3])
    assert load_vspw_prediction(tmp_path / 'pal.png')[0].tolist() == [[0, 1, 2, 3]] * 2
    # a JPEG named .png
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / 'jpeg.png', format='JPEG')
    with pytest.raises(FormatError, match='jpeg.png: unreadable or corrupt PNG'):
        load_step(tmp_path / 'jpeg.png')
