"""Drawing of video panoptic segmentation: one stable colour per track across a whole video."""
import colorsys
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.visualization import DetLocalVisualizer
from mmdet.visualization.palette import _get_adaptive_scales, get_palette
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


@VISUALIZERS.register_module()
class VideoPanopticVisualizer(DetLocalVisualizer):
    """Video panoptic visualizer: overlays a frame's panoptic map (``sem + inst * 1000``,
    docs/conventions.md §1) on the frame.

    Stuff segments (and crowd / track-less thing segments) take their class colour from the
    dataset palette; every thing track ``(class, id)`` takes :func:`track_color` of its panoptic
    id, so an object keeps one colour through the video, in ground truth and predictions
    alike. Segment borders are drawn in white; labels (class name, plus the track id for
    things) optionally at each segment's largest component. Ground truth is drawn left of the
    prediction when both are drawn, as in mmdet.

    Args:
        name (str): instance name (visualizers are global instances).
        alpha (float): opacity of the segment colours. Defaults to 0.6.
        with_labels (bool): write class names / track ids on the segments. Defaults to True.
        **kwargs: further :class:`mmdet.visualization.DetLocalVisualizer` arguments
            (``vis_backends``, ``save_dir``, ``text_color``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 alpha: float = 0.6,
                 with_labels: bool = True,
                 **kwargs) -> None:
        super().__init__(name=name, alpha=alpha, **kwargs)
        self.with_labels = with_labels

    def _class_info(self) -> Tuple[Sequence[str], int, List[tuple]]:
        classes = self.dataset_meta.get('classes')
        if not classes:
            raise ValueError('VideoPanopticVisualizer needs dataset_meta with "classes" '
                             '(and "thing_classes", "palette") to draw panoptic maps')
        num_things = len(self.dataset_meta.get('thing_classes', ()))
        palette = get_palette(self.dataset_meta.get('palette', 'random'), len(classes))
        return classes, num_things, palette

    def segment_colors(self, segment_ids: np.ndarray) -> np.ndarray:
        """``(N, 3)`` uint8 colours of panoptic segment ids: class palette colour for stuff and
        crowd, :func:`track_color` of the id for thing tracks (and, in predictions, every
        thing segment with an id)."""
        _, num_things, palette = self._class_info()
        colors = np.zeros((len(segment_ids), 3), dtype=np.uint8)
        for i, segment_id in enumerate(np.asarray(segment_ids, dtype=np.int64).tolist()):
            label, inst = segment_id % INSTANCE_OFFSET, segment_id // INSTANCE_OFFSET
            colors[i] = track_color(segment_id) if label < num_things and inst > 0 else \
                palette[label]
        return colors

    def draw_panoptic(self,
                      image: np.ndarray,
                      panoptic: Union[PixelData, torch.Tensor, np.ndarray],
                      is_gt: bool = False,
                      with_labels: Optional[bool] = None) -> np.ndarray:
        """Overlay one panoptic map on an RGB ``image`` of the same size; return the RGB
        drawing. ``is_gt`` only changes the label of thing pixels without a track (crowd)."""
        classes, num_things, _ = self._class_info()
        pan = _as_panoptic_map(panoptic)
        if pan.shape != image.shape[:2]:
            raise ValueError(f'panoptic map {pan.shape} and image {image.shape[:2]} differ in '
                             'size; draw at the original image size')
        valid = pan % INSTANCE_OFFSET < len(classes)
        segment_ids, index = np.unique(np.where(valid, pan, -1), return_inverse=True)
        index = index.reshape(pan.shape)
        if len(segment_ids) and segment_ids[0] == -1:  # void
            segment_ids, index = segment_ids[1:], index - 1
        colors = self.segment_colors(segment_ids)
        drawn = image.astype(np.float32)
        drawn[valid] = (1 - self.alpha) * drawn[valid] + self.alpha * colors[index[valid]]
        border = np.zeros(pan.shape, dtype=bool)
        border[:, 1:] |= pan[:, 1:] != pan[:, :-1]
        border[1:, :] |= pan[1:, :] != pan[:-1, :]
        drawn[border] = 255
        drawn = drawn.round().clip(0, 255).astype(np.uint8)
        if not (self.with_labels if with_labels is None else with_labels) or not len(segment_ids):
            return drawn

        self.set_image(drawn)
        positions, areas, texts = [], [], []
        for k, segment_id in enumerate(segment_ids.tolist()):
            _, _, stats, centroids = cv2.connectedComponentsWithStats(
                (index == k).astype(np.uint8), connectivity=8)
            largest = np.argmax(stats[1:, -1]) + 1
            positions.append(centroids[largest])
            areas.append(stats[largest, -1])
            label, inst = segment_id % INSTANCE_OFFSET, segment_id // INSTANCE_OFFSET
            text = classes[label]
            if label < num_things:
                text += f' {inst}' if inst > 0 else (' crowd' if is_gt else '')
            texts.append(text)
        scales = _get_adaptive_scales(np.asarray(areas))
        for text, position, scale in zip(texts, positions, scales):
            self.draw_texts(
                text,
                position,
                colors=self.text_color,
                font_sizes=int(13 * scale),
                horizontal_alignments='center',
                bboxes=[dict(facecolor='black', alpha=0.8, pad=0.7, edgecolor='none')])
        return self.get_image()

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
        scores) and show it, write it to ``out_file`` or send it to the vis backends."""
        image = image.clip(0, 255).astype(np.uint8)
        drawings = []
        if data_sample is not None:
            if draw_gt and 'gt_panoptic_seg' in data_sample:
                drawings.append(self.draw_panoptic(image, data_sample.gt_panoptic_seg, True))
            if draw_pred and 'pred_panoptic_seg' in data_sample:
                drawings.append(self.draw_panoptic(image, data_sample.pred_panoptic_seg))
        drawn = np.concatenate(drawings, axis=1) if drawings else image
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


def frame_out_file(out_dir: str, frame: DetDataSample) -> str:
    """``<out_dir>/<video_name>/<frame_name>.jpg`` of a frame data sample."""
    missing = [k for k in ('video_name', 'frame_name') if k not in frame]
    if missing:
        raise KeyError(f'{frame.get("img_path")}: frame metainfo lacks {missing}; pack it with '
                       'PackVideoPanopticInputs')
    return osp.join(out_dir, frame.video_name, f'{frame.frame_name}.jpg')


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
                         backend_args: Optional[Dict] = None) -> List[str]:
    """Write the frames of a video (a model's ``TrackDataSample`` output, or a sequence of
    them / of frame ``DetDataSample``) with the panoptic maps overlaid, as
    ``<out_dir>/<video_name>/<frame_name>.jpg``; return the written paths.

    ``visualizer.dataset_meta`` must hold the dataset's ``classes``, ``thing_classes`` and
    ``palette`` (e.g. ``visualizer.dataset_meta = dataset.metainfo``).
    """
    paths = []
    for frame in frames_of(samples):
        out_file = frame_out_file(out_dir, frame)
        draw_frame(visualizer, frame, out_file, draw_gt, draw_pred, backend_args=backend_args)
        paths.append(out_file)
    return paths
