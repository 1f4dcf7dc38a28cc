"""Drawing of video panoptic segmentation: one stable colour per track across a whole video."""
import colorsys
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import get_palette
from mmengine.dist import master_only
from mmengine.fileio import get
from mmengine.structures import PixelData

from mmvps.registry import VISUALIZERS
from mmvps.structures.panoptic import INSTANCE_OFFSET

# Low-discrepancy steps (golden ratio, plastic number): consecutive track ids of a class get
# far-apart hues, and each class starts at its own offset.
_INSTANCE_STEP = 0.6180339887498949
_CLASS_STEP = 0.7548776662466927


def track_color(track_id: int) -> Tuple[int, int, int]:
    """RGB colour of a thing track given by its panoptic id ``label + inst * 1000``: a pure
    function of the id, so the same in every frame and every run."""
    label, inst = divmod(int(track_id), INSTANCE_OFFSET)[::-1]
    hue = (inst * _INSTANCE_STEP + label * _CLASS_STEP) % 1.0
    saturation = 0.6 + 0.4 * ((inst * _CLASS_STEP) % 1.0)
    value = 0.75 + 0.25 * ((inst * _INSTANCE_STEP * 2) % 1.0)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, saturation, value))


def _as_panoptic_map(panoptic: Union[PixelData, torch.Tensor, np.ndarray]) -> np.ndarray:
    """``(H, W)`` int64 array from a ``PixelData(sem_seg=[1, H, W])``, tensor or array."""
    if isinstance(panoptic, PixelData):
        panoptic = panoptic.sem_seg
    if isinstance(panoptic, torch.Tensor):
        panoptic = panoptic.detach().cpu().numpy()
    panoptic = np.asarray(panoptic, dtype=np.int64)
    if panoptic.ndim == 3 and panoptic.shape[0] == 1:
        panoptic = panoptic[0]
    if panoptic.ndim != 2:
        raise ValueError(f'a panoptic map is (H, W) or (1, H, W), got shape {panoptic.shape}')
    return panoptic


_FONT = cv2.FONT_HERSHEY_SIMPLEX
COLOR_BY = ('track', 'gt_track')


def match_to_gt(gt_panoptic: np.ndarray, pred_panoptic: np.ndarray, num_things: int,
                iou_thr: float = 0.5) -> Dict[int, int]:
    """``pred id -> gt id`` of the predicted thing segments that overlap a ground-truth thing
    track of the same class with IoU above ``iou_thr`` (0.5 makes the match unique, as in PQ)."""
    gt = gt_panoptic.astype(np.int64).ravel()
    pred = pred_panoptic.astype(np.int64).ravel()
    gt_ids, gt_index, gt_area = np.unique(gt, return_inverse=True, return_counts=True)
    pred_ids, pred_index, pred_area = np.unique(pred, return_inverse=True, return_counts=True)
    pairs, inter = np.unique(gt_index * len(pred_ids) + pred_index, return_counts=True)
    matches = {}
    for pair, overlap in zip(pairs.tolist(), inter.tolist()):
        g, p = divmod(pair, len(pred_ids))
        gt_id, pred_id = int(gt_ids[g]), int(pred_ids[p])
        label = gt_id % INSTANCE_OFFSET
        if (label != pred_id % INSTANCE_OFFSET or label >= num_things
                or gt_id // INSTANCE_OFFSET == 0):
            continue
        if overlap / (gt_area[g] + pred_area[p] - overlap) > iou_thr:
            matches[pred_id] = gt_id
    return matches


def _box_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@VISUALIZERS.register_module()
class VideoPanopticVisualizer(DetLocalVisualizer):
    """Video panoptic visualizer: overlays a frame's panoptic map (``sem + inst * 1000``,
    docs/conventions.md §1) on the frame.

    Stuff segments (and crowd / track-less thing segments) take their class colour from the
    dataset palette; every thing track ``(class, id)`` takes :func:`track_color` of its panoptic
    id, so an object keeps one colour through the video, in ground truth and predictions
    alike (with ``color_by='gt_track'`` a predicted segment takes the colour of the ground-truth
    track it matches in the frame, so identity switches show as colour changes). Segment borders
    are white; void is darkened and hatched, so it does not look like an unlabelled frame.
    Ground truth is drawn left of the prediction when both are drawn, as in mmdet, each panel
    under its title and optionally above a legend.

    Labels (class name, plus the track id for things) are written where the segment is thickest,
    larger segments first; a label that does not fit inside the image, or would cover another
    label, is left out.

    Args:
        name (str): instance name (visualizers are global instances).
        alpha (float): opacity of the segment colours. Defaults to 0.6.
        with_labels (bool): write class names / track ids on the segments. Defaults to True.
        with_titles (bool): a title bar ("ground truth" / "prediction") above each panel.
            Defaults to True.
        with_legend (bool): a legend of the panel's segments (colour, class, track id) below
            it. Defaults to False.
        show_void (bool): darken and hatch void pixels (else leave them as in the frame).
            Defaults to True.
        color_by (str): ``'track'`` (each predicted id its own colour) or ``'gt_track'``.
            Defaults to ``'track'``.
        font_scale (float, optional): OpenCV font scale of labels, titles and legend; default
            grows with the frame height (0.35 at 96 px, 0.75 at 720 px).
        **kwargs: further :class:`mmdet.visualization.DetLocalVisualizer` arguments
            (``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 alpha: float = 0.6,
                 with_labels: bool = True,
                 with_titles: bool = True,
                 with_legend: bool = False,
                 show_void: bool = True,
                 color_by: str = 'track',
                 font_scale: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(name=name, alpha=alpha, **kwargs)
        if color_by not in COLOR_BY:
            raise ValueError(f'color_by must be one of {COLOR_BY}, got {color_by!r}')
        self.with_labels = with_labels
        self.with_titles = with_titles
        self.with_legend = with_legend
        self.show_void = show_void
        self.color_by = color_by
        self.font_scale = font_scale

    def _class_info(self) -> Tuple[Sequence[str], int, List[tuple]]:
        classes = self.dataset_meta.get('classes')
        if not classes:
            raise ValueError('VideoPanopticVisualizer needs dataset_meta with "classes" '
                             '(and "thing_classes", "palette") to draw panoptic maps')
        num_things = len(self.dataset_meta.get('thing_classes', ()))
        palette = get_palette(self.dataset_meta.get('palette', 'random'), len(classes))
        return classes, num_things, palette

    def _font(self, height: int) -> Tuple[float, int]:
        scale = self.font_scale or min(1.2, max(0.35, 0.35 + 0.4 * (height - 96) / 624))
        return scale, 1 if scale < 0.8 else 2

    def segment_colors(self, segment_ids: np.ndarray,
                       overrides: Optional[Dict[int, int]] = None) -> np.ndarray:
        """``(N, 3)`` uint8 colours of panoptic segment ids: class palette colour for stuff and
        crowd, :func:`track_color` of the id for thing tracks (and, in predictions, every
        thing segment with an id); ``overrides`` maps ids to the id whose colour they take."""
        _, num_things, palette = self._class_info()
        overrides = overrides or {}
        colors = np.zeros((len(segment_ids), 3), dtype=np.uint8)
        for i, segment_id in enumerate(np.asarray(segment_ids, dtype=np.int64).tolist()):
            segment_id = overrides.get(segment_id, segment_id)
            label, inst = segment_id % INSTANCE_OFFSET, segment_id // INSTANCE_OFFSET
            colors[i] = track_color(segment_id) if label < num_things and inst > 0 else \
                palette[label]
        return colors

    def segment_text(self, segment_id: int, is_gt: bool) -> str:
        """Label of a segment: the class name, plus the track id of a thing (``crowd`` for a
        ground-truth thing without one)."""
        classes, num_things, _ = self._class_info()
        label, inst = segment_id % INSTANCE_OFFSET, segment_id // INSTANCE_OFFSET
        text = classes[label]
        if label < num_things:
            text += f' {inst}' if inst > 0 else (' crowd' if is_gt else '')
        return text

    def _segments(self, pan: np.ndarray):
        """Valid segment ids of a map, the index map (-1 void) and the void mask."""
        classes, _, _ = self._class_info()
        valid = (pan >= 0) & (pan % INSTANCE_OFFSET < len(classes))
        segment_ids, index = np.unique(np.where(valid, pan, -1), return_inverse=True)
        index = index.reshape(pan.shape)
        if len(segment_ids) and segment_ids[0] == -1:  # void
            segment_ids, index = segment_ids[1:], index - 1
        return segment_ids, index, ~valid

    def draw_panoptic(self,
                      image: np.ndarray,
                      panoptic: Union[PixelData, torch.Tensor, np.ndarray],
                      is_gt: bool = False,
                      with_labels: Optional[bool] = None,
                      color_overrides: Optional[Dict[int, int]] = None) -> np.ndarray:
        """Overlay one panoptic map on an RGB ``image`` of the same size; return the RGB
        drawing (same size). ``is_gt`` only changes the label of thing pixels without a track
        (crowd); ``color_overrides`` maps segment ids to the id whose colour they take."""
        pan = _as_panoptic_map(panoptic)
        if pan.shape != image.shape[:2]:
            raise ValueError(f'panoptic map {pan.shape} and image {image.shape[:2]} differ in '
                             'size; draw at the original image size')
        segment_ids, index, void = self._segments(pan)
        colors = self.segment_colors(segment_ids, color_overrides)
        drawn = image.astype(np.float32)
        valid = ~void
        drawn[valid] = (1 - self.alpha) * drawn[valid] + self.alpha * colors[index[valid]]
        if self.show_void and void.any():
            ys, xs = np.nonzero(void)
            hatch = (xs + ys) % 6 == 0
            drawn[ys, xs] *= 0.35
            drawn[ys[hatch], xs[hatch]] = 160
        border = np.zeros(pan.shape, dtype=bool)
        border[:, 1:] |= pan[:, 1:] != pan[:, :-1]
        border[1:, :] |= pan[1:, :] != pan[:-1, :]
        drawn[border] = 255
        drawn = drawn.round().clip(0, 255).astype(np.uint8)
        if (self.with_labels if with_labels is None else with_labels) and len(segment_ids):
            self._draw_labels(drawn, segment_ids, index, is_gt)
        return drawn

    LABEL_TRIES = 4  # positions tried per label before it is left out

    def label_boxes(self, segment_ids: np.ndarray, index: np.ndarray,
                    texts: Sequence[str]) -> List[Optional[tuple]]:
        """Where each label goes: ``(x0, y0, x1, y1)`` of its box, centred where the segment is
        thickest (distance transform), moved inside the image; when that box would cover the
        label of a larger segment, the thickest spot away from it is tried (``LABEL_TRIES``
        positions in all). ``None`` for a label that does not fit the image or finds no free
        place."""
        height, width = index.shape
        scale, thickness = self._font(height)
        pad = max(1, int(round(2 * scale)))
        areas = np.bincount(index[index >= 0].ravel(), minlength=len(segment_ids))
        boxes: List[Optional[tuple]] = [None] * len(segment_ids)
        placed = []
        for k in np.argsort(-areas, kind='stable').tolist():
            (tw, th), base = cv2.getTextSize(texts[k], _FONT, scale, thickness)
            bw, bh = tw + 2 * pad, th + base + 2 * pad
            if bw > width or bh > height or areas[k] == 0:
                continue
            mask = np.pad((index == k).astype(np.uint8), 1)  # image borders count as edges
            dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)[1:-1, 1:-1]
            for _ in range(self.LABEL_TRIES):  # the thickest spot, else the next free one
                if dist.max() <= 0:
                    break
                y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
                x0 = int(min(max(x - bw // 2, 0), width - bw))
                y0 = int(min(max(y - bh // 2, 0), height - bh))
                box = (x0, y0, x0 + bw, y0 + bh)
                hits = [other for other in placed if _box_overlap(box, other)]
                if not hits:
                    placed.append(box)
                    boxes[k] = box
                    break
                for ox0, oy0, ox1, oy1 in hits:  # centres that would hit these boxes again
                    dist[max(oy0 - bh // 2 - 1, 0):oy1 + bh // 2 + 1,
                         max(ox0 - bw // 2 - 1, 0):ox1 + bw // 2 + 1] = 0
        return boxes

    def _draw_labels(self, drawn: np.ndarray, segment_ids: np.ndarray, index: np.ndarray,
                     is_gt: bool) -> None:
        texts = [self.segment_text(i, is_gt) for i in segment_ids.tolist()]
        scale, thickness = self._font(drawn.shape[0])
        pad = max(1, int(round(2 * scale)))
        for text, box in zip(texts, self.label_boxes(segment_ids, index, texts)):
            if box is None:
                continue
            x0, y0, x1, y1 = box
            drawn[y0:y1, x0:x1] = (drawn[y0:y1, x0:x1] * 0.35).astype(np.uint8)
            (_, th), _ = cv2.getTextSize(text, _FONT, scale, thickness)
            cv2.putText(drawn, text, (x0 + pad, y0 + pad + th), _FONT, scale, (255, 255, 255),
                        thickness, cv2.LINE_AA)

    def _text_bar(self, width: int, height: int, text: str) -> np.ndarray:
        scale, thickness = self._font(height)
        (_, th), base = cv2.getTextSize('Ag', _FONT, scale, thickness)  # one height for all
        pad = max(2, int(round(4 * scale)))
        bar = np.full((th + base + 2 * pad, width, 3), 32, dtype=np.uint8)
        cv2.putText(bar, text, (pad, pad + th), _FONT, scale, (255, 255, 255), thickness,
                    cv2.LINE_AA)
        return bar

    def legend(self, panoptic: Union[PixelData, torch.Tensor, np.ndarray], width: int,
               height: int, is_gt: bool = False,
               color_overrides: Optional[Dict[int, int]] = None) -> np.ndarray:
        """Legend of a map's segments (colour swatch + label, void last when present), wrapped
        to ``width``; ``height`` is the frame height (sets the font size)."""
        pan = _as_panoptic_map(panoptic)
        segment_ids, _, void = self._segments(pan)
        colors = self.segment_colors(segment_ids, color_overrides)
        entries = [(tuple(int(c) for c in color), self.segment_text(i, is_gt))
                   for i, color in zip(segment_ids.tolist(), colors)]
        if void.any():
            entries.append((None, 'void'))
        scale, thickness = self._font(height)
        (_, th), base = cv2.getTextSize('Ag', _FONT, scale, thickness)
        pad, line = max(2, int(round(4 * scale))), th + base + 2 * max(2, int(round(4 * scale)))
        rows, x = [[]], pad
        for color, text in entries:
            (tw, _), _ = cv2.getTextSize(text, _FONT, scale, thickness)
            size = th + pad + tw + 2 * pad
            if x + size > width and rows[-1]:
                rows.append([])
                x = pad
            rows[-1].append((x, color, text))
            x += size
        legend = np.full((len(rows) * line, width, 3), 32, dtype=np.uint8)
        for r, row in enumerate(rows):
            top = r * line + pad
            for x, color, text in row:
                swatch = legend[top:top + th, x:x + th]
                if color is None:  # void: the hatch of the drawing
                    swatch[...] = 40
                    yy, xx = np.mgrid[:swatch.shape[0], :swatch.shape[1]]
                    swatch[(xx + yy) % 6 == 0] = 160
                else:
                    swatch[...] = color
                cv2.putText(legend, text, (x + th + pad, top + th), _FONT, scale,
                            (255, 255, 255), thickness, cv2.LINE_AA)
        return legend

    def compose(self, image: np.ndarray, data_sample: DetDataSample, draw_gt: bool = True,
                draw_pred: bool = True) -> np.ndarray:
        """The frame's panels side by side (ground truth, prediction), each with its title and
        legend when those are on; the plain frame when there is nothing to draw."""
        height, width = image.shape[:2]
        panels = []
        gt = data_sample.get('gt_panoptic_seg') if data_sample is not None else None
        pred = data_sample.get('pred_panoptic_seg') if data_sample is not None else None
        if draw_gt and gt is not None:
            panels.append(('ground truth', gt, True, None))
        if draw_pred and pred is not None:
            overrides = None
            if self.color_by == 'gt_track' and gt is not None:
                _, num_things, _ = self._class_info()
                overrides = match_to_gt(_as_panoptic_map(gt), _as_panoptic_map(pred), num_things)
            panels.append(('prediction', pred, False, overrides))
        if not panels:
            return image
        columns = []
        for title, panoptic, is_gt, overrides in panels:
            parts = [self.draw_panoptic(image, panoptic, is_gt, color_overrides=overrides)]
            if self.with_titles:
                parts.insert(0, self._text_bar(width, height, title))
            if self.with_legend:
                parts.append(self.legend(panoptic, width, height, is_gt, overrides))
            columns.append(parts)
        if self.with_legend:  # legends of different lengths: pad to the longest
            longest = max(c[-1].shape[0] for c in columns)
            for c in columns:
                c[-1] = np.pad(c[-1], ((0, longest - c[-1].shape[0]), (0, 0), (0, 0)),
                               constant_values=32)
        return np.concatenate([np.concatenate(c, axis=0) for c in columns], axis=1)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[DetDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> None:
        """Draw one frame's ``gt_panoptic_seg`` and/or ``pred_panoptic_seg`` (mmdet's
        ``add_datasample`` interface; ``pred_score_thr`` is unused: panoptic maps have no
        scores) and show it, write it to ``out_file`` (the format follows its suffix: ``.png``
        is lossless) or send it to the vis backends."""
        image = image.clip(0, 255).astype(np.uint8)
        drawn = self.compose(image, data_sample, draw_gt, draw_pred)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)


def frames_of(samples) -> List[DetDataSample]:
    """Frame data samples of a ``TrackDataSample`` or a sequence of them / of frames; of a
    ``TrackDataSample`` only its key frames (``key_frames_inds``) when it names them, so frames
    that overlapping test clips share are drawn once."""
    if isinstance(samples, (TrackDataSample, DetDataSample)):
        samples = [samples]
    frames = []
    for sample in samples:
        if isinstance(sample, TrackDataSample):
            frames.extend(sample[i] for i in sample.metainfo.get('key_frames_inds',
                                                                 range(len(sample))))
        elif isinstance(sample, DetDataSample):
            frames.append(sample)
        else:
            raise TypeError(f'expected TrackDataSample or DetDataSample, got {type(sample)}')
    return frames


IMAGE_SUFFIXES = ('.jpg', '.png')


def frame_out_file(out_dir: str, frame: DetDataSample, suffix: str = '.jpg') -> str:
    """``<out_dir>/<video_name>/<frame_name><suffix>`` of a frame data sample (``.png`` is
    lossless)."""
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f'drawings are written as {IMAGE_SUFFIXES}, got suffix {suffix!r}')
    missing = [k for k in ('video_name', 'frame_name') if k not in frame]
    if missing:
        raise KeyError(f'{frame.get("img_path")}: frame metainfo lacks {missing}; pack it with '
                       'PackVideoPanopticInputs')
    return osp.join(out_dir, frame.video_name, f'{frame.frame_name}{suffix}')


def draw_frame(visualizer: VideoPanopticVisualizer,
               frame: DetDataSample,
               out_file: Optional[str] = None,
               draw_gt: bool = True,
               draw_pred: bool = True,
               show: bool = False,
               wait_time: float = 0,
               step: int = 0,
               name: Optional[str] = None,
               backend_args: Optional[Dict] = None) -> None:
    """Read one frame from its ``img_path`` and draw it with its panoptic maps (to
    ``out_file``, else to the visualizer's backends, and on screen with ``show``)."""
    if not isinstance(visualizer, VideoPanopticVisualizer):
        raise TypeError(f'drawing video panoptic frames needs a VideoPanopticVisualizer, got '
                        f'{type(visualizer).__name__}; set visualizer.type in the config')
    img_path = frame.img_path
    image = mmcv.imfrombytes(get(img_path, backend_args=backend_args), channel_order='rgb')
    visualizer.add_datasample(
        name or osp.basename(img_path), image, frame, draw_gt=draw_gt, draw_pred=draw_pred,
        show=show, wait_time=wait_time, out_file=out_file, step=step)


def write_video_overlays(samples: Union[TrackDataSample, Sequence],
                         out_dir: str,
                         visualizer: VideoPanopticVisualizer,
                         draw_gt: bool = True,
                         draw_pred: bool = True,
                         backend_args: Optional[Dict] = None,
                         suffix: str = '.jpg') -> List[str]:
    """Write the frames of a video (a model's ``TrackDataSample`` output, or a sequence of
    them / of frame ``DetDataSample``) with the panoptic maps overlaid, as
    ``<out_dir>/<video_name>/<frame_name><suffix>``; return the written paths.

    ``visualizer.dataset_meta`` must hold the dataset's ``classes``, ``thing_classes`` and
    ``palette`` (e.g. ``visualizer.dataset_meta = dataset.metainfo``).
    """
    paths = []
    for frame in frames_of(samples):
        out_file = frame_out_file(out_dir, frame, suffix)
        draw_frame(visualizer, frame, out_file, draw_gt, draw_pred, backend_args=backend_args)
        paths.append(out_file)
    return paths


def write_mp4(frame_files: Sequence[str], out_file: str, fps: float = 5.0) -> str:
    """Write images of one size (in order) as an mp4 video (OpenCV's ``mp4v`` codec); odd
    sizes are padded to even ones. Returns ``out_file``."""
    if not frame_files:
        raise ValueError(f'{out_file}: no frames to write')
    if fps <= 0:
        raise ValueError(f'fps must be > 0, got {fps}')
    first = mmcv.imread(frame_files[0])
    if first is None:
        raise ValueError(f'{frame_files[0]}: unreadable image')
    height, width = first.shape[:2]
    size = (width + width % 2, height + height % 2)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f'{out_file}: OpenCV cannot open an mp4v video writer')
    try:
        for path in frame_files:
            image = mmcv.imread(path)
            if image is None or image.shape[:2] != (height, width):
                raise ValueError(f'{path}: unreadable or not {width}x{height} like '
                                 f'{frame_files[0]}')
            writer.write(np.pad(image, ((0, size[1] - height), (0, size[0] - width), (0, 0))))
    finally:
        writer.release()
    return out_file


def write_overlay_videos(out_dir: str, fps: float = 5.0,
                         video_names: Optional[Sequence[str]] = None) -> List[str]:
    """Turn each ``<out_dir>/<video_name>/`` folder of drawn frames (``.jpg`` / ``.png``,
    sorted by name) into ``<out_dir>/<video_name>.mp4``; return the written paths."""
    if video_names is None:
        video_names = sorted(n for n in os.listdir(out_dir) if osp.isdir(osp.join(out_dir, n)))
    written = []
    for name in video_names:
        folder = osp.join(out_dir, name)
        frames = sorted(osp.join(folder, f) for f in os.listdir(folder)
                        if f.endswith(IMAGE_SUFFIXES))
        written.append(write_mp4(frames, osp.join(out_dir, f'{name}.mp4'), fps))
    return written
