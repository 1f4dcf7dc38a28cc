"""PNG and JSON reading/writing shared by every format, with errors that name the file.

Readers take the bytes of a file from :func:`read_bytes`: local paths are opened directly (the
offline scorer's path stays numpy + PIL); inside ``with file_backend(backend_args):`` and for
URIs (``s3://``, ``http://`` ...) the bytes come from ``mmengine.fileio.get`` with those
``backend_args``, so datasets on remote storage read as in mmdet.
"""
import contextlib
import io
import json
import os
import threading

import numpy as np
from PIL import Image, UnidentifiedImageError

# PIL modes accepted for each kind of PNG the formats use.
_PNG_MODES = {
    'gray16': ('I;16', 'I;16B', 'I;16L', 'I', 'L'),  # 16-bit label maps (8-bit files hold a subset)
    'gray8': ('L', 'P'),  # 8-bit label maps (palette files: the indices are the labels)
    'rgb': ('RGB', ),
}


# PNG header (IHDR) bit depths accepted for each kind, by colour type: PIL reads 16-bit RGB as
# its high bytes and scales 1/2/4-bit gray to 0..255, so those would decode to wrong labels.
_PNG_DEPTHS = {
    'gray16': {0: (8, 16)},
    'gray8': {0: (8, ), 3: (1, 2, 4, 8)},
    'rgb': {2: (8, )},
}
_PNG_COLOUR_TYPES = {0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray+alpha', 6: 'RGBA'}
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class FormatError(ValueError):
    """A file does not follow its official format; the message starts with the file path."""


_BACKEND = threading.local()


@contextlib.contextmanager
def file_backend(backend_args):
    """Make the format readers called inside the block read their files through
    ``mmengine.fileio`` with ``backend_args`` (``None``: local files, or the backend a URI
    prefix names)."""
    previous = getattr(_BACKEND, 'args', None)
    _BACKEND.args = backend_args
    try:
        yield
    finally:
        _BACKEND.args = previous


def current_backend_args():
    """The ``backend_args`` of the innermost :func:`file_backend` block, else ``None``."""
    return getattr(_BACKEND, 'args', None)


def read_bytes(path):
    """Bytes of a file; :class:`FormatError` naming the file when it does not exist."""
    path = os.fspath(path)
    backend_args = current_backend_args()
    if backend_args is None and '://' not in path:
        if not os.path.isfile(path):
            raise FormatError(f'{path}: file not found')
        with open(path, 'rb') as f:
            return f.read()
    from mmengine.fileio import get
    try:
        return get(path, backend_args=backend_args)
    except FileNotFoundError as err:
        raise FormatError(f'{path}: file not found') from err


def _where(path):
    return str(path) if path is not None else '<array>'


def load_png(path, kind):
    """Open and decode a PNG with PIL, checking it exists, decodes, is not empty and has the
    channel layout ``kind`` (``'gray16'``, ``'gray8'`` or ``'rgb'``)."""
    if kind not in _PNG_MODES:
        raise ValueError(f'unknown PNG kind {kind!r}, expected one of {sorted(_PNG_MODES)}')
    path = os.fspath(path)
    data = read_bytes(path)
    if not data:
        raise FormatError(f'{path}: empty file')
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise FormatError(f'{path}: unreadable or corrupt PNG ({err})') from err
    if img.mode not in _PNG_MODES[kind]:
        raise FormatError(f'{path}: PNG mode {img.mode} where the format needs {kind} '
                          f'(one of {", ".join(_PNG_MODES[kind])})')
    check_png_header(path, kind, data[:26])
    if img.width == 0 or img.height == 0:
        raise FormatError(f'{path}: empty image {img.width}x{img.height}')
    return img


def check_png_header(path, kind, head=None):
    """The file is a PNG whose colour type and bit depth ``kind`` decodes exactly (``head``: its
    first 26 bytes when already read, e.g. through a file backend)."""
    if head is None:
        with open(path, 'rb') as f:
            head = f.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b'IHDR':
        raise FormatError(f'{path}: unreadable or corrupt PNG (no PNG signature and header)')
    depth, colour = head[24], head[25]
    if depth not in _PNG_DEPTHS[kind].get(colour, ()):
        wanted = ' or '.join(f'{"/".join(map(str, d))}-bit {_PNG_COLOUR_TYPES[c]}'
                             for c, d in _PNG_DEPTHS[kind].items())
        raise FormatError(f'{path}: {depth}-bit {_PNG_COLOUR_TYPES.get(colour, colour)} PNG '
                          f'where the format needs {wanted}')


def read_png(path, kind):
    """Read a PNG as a numpy array (see :func:`load_png` for the checks)."""
    return np.asarray(load_png(path, kind))


def write_png(path, arr):
    """Write a uint8 (gray or RGB) or uint16 (gray) array as PNG, creating parent folders."""
    arr = np.asarray(arr)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{path}: PNG arrays must be uint8 or uint16, got {arr.dtype}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(arr).save(path)


def rgb2id(rgb):
    """COCO-panoptic segment id ``R + 256 G + 65536 B`` of an ``(H, W, 3)`` array, as int64."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f'rgb2id needs an (H, W, 3) array, got shape {rgb.shape}')
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] + (rgb[..., 1] << 8) + (rgb[..., 2] << 16)).astype(np.int64)


def id2rgb(ids):
    """Inverse of :func:`rgb2id`: uint8 ``(H, W, 3)`` colours of segment ids below 2**24."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError('COCO-panoptic segment ids must lie in [0, 2**24)')
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)


def load_json(path):
    """Load a JSON file, raising :class:`FormatError` naming the file when it is missing or
    malformed."""
    path = os.fspath(path)
    data = read_bytes(path)
    try:
        return json.loads(data.decode('utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FormatError(f'{path}: not valid JSON ({err})') from err


def read_text_lines(path):
    """Lines of a UTF-8 text file (a split list), read like the other formats (through
    ``mmengine.fileio`` inside a :func:`file_backend` block), raising :class:`FormatError`
    naming the file when it is missing or not UTF-8 text."""
    path = os.fspath(path)
    data = read_bytes(path)
    try:
        return data.decode('utf-8').splitlines()
    except UnicodeDecodeError as err:
        raise FormatError(f'{path}: not UTF-8 text ({err})') from err


def dump_json(path, obj):
    """Write ``obj`` as JSON, creating parent folders."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f)


def check_relative_name(name, where, what='video name'):
    """Refuse a name that would leave its folder when joined to it (empty, absolute, or with a
    ``..`` component): readers and the submission exporters join video names, image ids and
    file names to their folders."""
    text = str(name)
    if (not text or os.path.isabs(text) or text.startswith(('/', '\\'))
            or '..' in text.replace('\\', '/').split('/') or os.path.splitdrive(text)[0]):
        raise FormatError(f'{where}: {what} {name!r} is empty, absolute or contains "..": it '
                          f'must stay inside its folder')


def is_json_int(value):
    """A JSON integer: ``true`` / ``false`` and ``2.7`` / ``2.0`` are not (``int()`` would turn
    them into 1 / 0 / 2 silently)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_label_map(arr, ndim, path=None):
    """Check a decoder input is an integer array of ``ndim`` dims (3 means ``(H, W, 3)``)."""
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.integer):
        raise FormatError(f'{_where(path)}: label map has dtype {arr.dtype}, expected integers')
    if arr.ndim != ndim or (ndim == 3 and arr.shape[-1] != 3):
        want = '(H, W, 3)' if ndim == 3 else '(H, W)'
        raise FormatError(f'{_where(path)}: label map has shape {arr.shape}, expected {want}')
    return arr.astype(np.int64)


def check_cat_inst(cat, inst, path):
    """Check a writer's ``(cat, inst)`` pair (official category ids, -1 void; track ids)."""
    cat = np.asarray(cat, dtype=np.int64)
    inst = np.asarray(inst, dtype=np.int64)
    if cat.ndim != 2 or cat.shape != inst.shape:
        raise ValueError(f'{path}: cat {cat.shape} and inst {inst.shape} must be equal 2-D shapes')
    if cat.size and (cat.min() < -1 or inst.min() < 0):
        raise ValueError(f'{path}: category ids must be >= -1 (void) and instance ids >= 0')
    return cat, inst
