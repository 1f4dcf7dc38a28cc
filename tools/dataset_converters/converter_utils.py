"""Helpers shared by the dataset converters: atomic writes, resumable resizing, a worker pool
with a progress bar, and a summary that counts everything (nothing is skipped silently).

A converter builds a list of picklable tasks, runs them with :func:`run_tasks` and exits with
:func:`finish`, which prints the counts and every error (each naming its file) and returns a
non-zero exit code when anything went wrong.
"""
import json
import os
import shutil
import sys
from collections import Counter
from multiprocessing import Pool

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

TMP_SUFFIX = '.mmvps-tmp'  # partial outputs are written as ``.<name>.<pid>.mmvps-tmp``


class ConversionError(Exception):
    """A problem with one input or output file; the message starts with the file path."""


def open_image(path):
    """Open an image lazily (header only), raising :class:`ConversionError` naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConversionError(f'{path}: file not found')
    if os.path.getsize(path) == 0:
        raise ConversionError(f'{path}: empty file')
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ConversionError(f'{path}: unreadable image ({err})') from err


def check_label_png(path, kind):
    """A label PNG whose bit depth PIL decodes exactly (mmvps' ``check_png_header``; imported
    here so that the scripts that never read label maps run without mmvps)."""
    from mmvps.datasets.formats import FormatError, check_png_header
    try:
        check_png_header(path, kind)
    except FormatError as err:
        raise ConversionError(str(err)) from err


def load_image(path):
    """Open and fully decode an image (a truncated file fails here)."""
    img = open_image(path)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise ConversionError(f'{os.fspath(path)}: corrupt or truncated image ({err})') from err
    return img


def _tmp_path(path):
    head, name = os.path.split(os.fspath(path))
    return os.path.join(head, f'.{name}.{os.getpid()}{TMP_SUFFIX}')


def save_atomic(img, path):
    """Save a PIL image under a temporary name in the target folder, then rename it, so an
    interrupted run never leaves a half-written file under the final name."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fmt = Image.registered_extensions()[os.path.splitext(path)[1].lower()]
    tmp = _tmp_path(path)
    try:
        img.save(tmp, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def copy_atomic(src, dst):
    """Copy a file through a temporary name; ``'already done'`` when ``dst`` already has the
    same size and modification time (a previous run's copy), else ``'written'``."""
    src, dst = os.fspath(src), os.fspath(dst)
    if not os.path.isfile(src):
        raise ConversionError(f'{src}: file not found')
    if os.path.isfile(dst):
        s, d = os.stat(src), os.stat(dst)
        if s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime):
            return 'already done'
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = _tmp_path(dst)
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return 'written'


def dump_json_atomic(obj, path):
    """Write ``obj`` as JSON through a temporary name."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_tmp(root):
    """Delete temporary files left by an interrupted run under ``root``; return how many."""
    removed = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.startswith('.') and name.endswith(TMP_SUFFIX):
                os.remove(os.path.join(dirpath, name))
                removed += 1
    return removed


def scaled_size(size, height):
    """The official short-side rule ``(int(height * w / h), height)`` of VIPSeg / VSPW."""
    w, h = size
    return int(height * w / h), height


def _output_is_valid(path, size, modes, forbidden_values=()):
    """Whether a previous run's output decodes completely, has ``size`` and a mode in
    ``modes``, and holds none of ``forbidden_values``."""
    if not os.path.isfile(path):
        return False
    try:
        with Image.open(path) as img:
            img.load()
            if img.size != size or img.mode not in modes:
                return False
            return not (forbidden_values and np.isin(np.asarray(img), forbidden_values).any())
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _status(dst, kind):
    return f'{kind} replaced (invalid)' if os.path.exists(dst) else f'{kind} written'


def resize_image(src, dst, height):
    """Resize one frame to ``height`` (BILINEAR, RGB JPEG), unless ``dst`` is already a valid
    output. Returns a counter key."""
    with open_image(src) as img:
        size = scaled_size(img.size, height)
        if _output_is_valid(dst, size, ('RGB', )):
            return 'images already done'
        status = _status(dst, 'images')
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as err:
            raise ConversionError(f'{src}: corrupt or truncated image ({err})') from err
        save_atomic(img.convert('RGB').resize(size, Image.BILINEAR), dst)
    return status


def resize_mask(src, dst, height, image_size, modes, void_fixes=()):
    """Resize one label map to ``height`` with NEAREST, keeping its values and bit depth; the
    raw values in ``void_fixes`` are set to 0 (void) first. ``image_size`` is the size of the
    matching frame, which the mask must have. Returns counter keys."""
    with load_image(src) as img:
        check_label_png(src, 'gray16' if any(m.startswith('I') for m in modes) else 'gray8')
        if img.mode not in modes:
            raise ConversionError(f'{src}: mask mode {img.mode}, expected one of '
                                  f'{", ".join(modes)}')
        if img.size != image_size:
            raise ConversionError(f'{src}: mask size {img.size} differs from its frame '
                                  f'{image_size}')
        size = scaled_size(img.size, height)
        if _output_is_valid(dst, size, modes, void_fixes):
            return ['masks already done']
        arr = np.asarray(img)
    statuses = [_status(dst, 'masks')]
    if void_fixes and np.isin(arr, void_fixes).any():
        arr = np.where(np.isin(arr, void_fixes), 0, arr).astype(arr.dtype)
        statuses.append(f'masks with values {list(void_fixes)} set to 0')
    if arr.dtype == np.int32:  # old Pillow reads 16-bit PNGs as mode I
        arr = arr.astype(np.uint16)
    save_atomic(Image.fromarray(arr).resize(size, Image.NEAREST), dst)
    return statuses


def resize_frame(task):
    """Worker: resize one frame and its mask (if any). ``task`` is
    ``(src_img, dst_img, src_mask, dst_mask, height, mask_modes, void_fixes)``."""
    src_img, dst_img, src_mask, dst_mask, height, modes, void_fixes = task
    statuses = [resize_image(src_img, dst_img, height)]
    if src_mask is not None:
        with open_image(src_img) as img:
            image_size = img.size
        statuses += resize_mask(src_mask, dst_mask, height, image_size, modes, void_fixes)
    return statuses


def _call(fn, task):
    """Run ``fn(task)``; turn an exception into an error message that names the file."""
    try:
        return fn(task), None
    except (ConversionError, ValueError) as err:  # FormatError is a ValueError
        return None, str(err)
    except Exception as err:  # noqa: BLE001 - reported, never swallowed
        return None, f'{task[0]}: {type(err).__name__}: {err}'


class _Caller:
    """Picklable ``task -> _call(fn, task)`` for the worker pool."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, task):
        return _call(self.fn, task)


def run_tasks(fn, tasks, nproc, desc, with_payload=False):
    """Run ``fn`` over ``tasks`` (in ``nproc`` processes when > 1) with a tqdm progress bar.

    ``fn`` returns a counter key or a list of them, or with ``with_payload`` a pair
    ``(keys, payload)``. Returns ``(counts, errors)``, plus the payloads (in task order) with
    ``with_payload``.
    """
    counts, errors, payloads = Counter(), [], [None] * len(tasks)
    caller = _Caller(fn)
    if nproc > 1 and len(tasks) > 1:
        pool = Pool(min(nproc, len(tasks)))
        results = pool.imap(caller, tasks, chunksize=1)
    else:
        pool, results = None, map(caller, tasks)
    try:
        for i, (result, error) in enumerate(
                tqdm(results, total=len(tasks), desc=desc, file=sys.stdout)):
            if error is not None:
                errors.append(error)
                continue
            if with_payload:
                result, payloads[i] = result
            counts.update([result] if isinstance(result, str) else result)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return (counts, errors, payloads) if with_payload else (counts, errors)


def finish(title, counts, errors, notes=()):
    """Print the summary (counts, notes, every error) and return the exit code."""
    print(f'== {title}')
    for key in sorted(counts):
        print(f'  {key}: {counts[key]}')
    for note in notes:
        print(f'  note: {note}')
    if errors:
        print(f'  errors: {len(errors)}', file=sys.stderr)
        for error in errors:
            print(f'    {error}', file=sys.stderr)
        return 1
    print('  errors: 0')
    return 0


def list_frames(folder, ext):
    """``{stem: file name}`` of the files ending in ``ext`` in ``folder``, and the other paths."""
    frames, others = {}, []
    for name in sorted(os.listdir(folder)):
        stem, e = os.path.splitext(name)
        if e.lower() == ext:
            frames[stem] = name
        else:
            others.append(os.path.join(folder, name))
    return frames, others


def collect_resize_tasks(videos, layout, annotated, height, mask_modes, void_fixes=()):
    """Pair every frame of ``videos`` with its mask and build :func:`resize_frame` tasks.

    ``layout(video)`` gives ``(img_dir, mask_dir, out_img_dir, out_mask_dir)``; a video whose
    mask folder is missing is converted without masks (a test video) unless it is in
    ``annotated``, which is an error. Returns ``(tasks, errors, notes, counts)``.
    """
    tasks, errors, ignored, counts = [], [], [], Counter(videos=len(videos))
    for video in videos:
        img_dir, mask_dir, out_img_dir, out_mask_dir = layout(video)
        frames, others = list_frames(img_dir, '.jpg')
        ignored += others
        has_masks = os.path.isdir(mask_dir)
        masks = {}
        if has_masks:
            masks, others = list_frames(mask_dir, '.png')
            ignored += others
            for stem in sorted(set(masks) - set(frames)):
                errors.append(f'{os.path.join(mask_dir, masks[stem])}: mask without a frame '
                              f'in {img_dir}')
        elif video in annotated:
            errors.append(f'{mask_dir}: missing, but the video is in a split with ground truth')
            continue
        else:
            counts['videos without masks (test)'] += 1
        if not frames:
            errors.append(f'{img_dir}: no .jpg frames')
        for stem, name in frames.items():
            if has_masks and stem not in masks:
                errors.append(f'{os.path.join(img_dir, name)}: frame without a mask in '
                              f'{mask_dir}')
                continue
            tasks.append((os.path.join(img_dir, name), os.path.join(out_img_dir, stem + '.jpg'),
                          os.path.join(mask_dir, masks[stem]) if has_masks else None,
                          os.path.join(out_mask_dir, stem + '.png') if has_masks else None,
                          height, mask_modes, void_fixes))
    notes = []
    if ignored:
        notes.append(f'{len(ignored)} files that are not .jpg frames / .png masks were not '
                     f'converted: {ignored[:5]}')
    return tasks, errors, notes, counts


def check_split_lists(src, videos):
    """Errors for listed videos that are missing and a note on unlisted ones; also returns
    the set of videos of splits with ground truth (train, val)."""
    splits = read_split_lists(src)
    listed = set().union(*splits.values()) if splits else set()
    errors = [f'{os.path.join(src, split + ".txt")}: lists video {video} which is missing'
              for split, names in splits.items() for video in names if video not in videos]
    notes = []
    unlisted = [v for v in videos if splits and v not in listed]
    if unlisted:
        notes.append(f'{len(unlisted)} videos are in no split list (converted anyway), '
                     f'e.g. {unlisted[:3]}')
    annotated = set(splits.get('train', [])) | set(splits.get('val', []))
    return annotated, errors, notes


def read_split_lists(root, splits=('train', 'val', 'test')):
    """Read ``<root>/<split>.txt`` video lists that exist: ``{split: [video, ...]}``."""
    lists = {}
    for split in splits:
        path = os.path.join(root, f'{split}.txt')
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                lists[split] = [line.strip() for line in f if line.strip()]
    return lists
