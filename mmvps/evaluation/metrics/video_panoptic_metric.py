"""Video panoptic segmentation metric: image PQ, VPQ per window size and mean, STQ / AQ / IoU."""
from typing import Optional, Sequence, Union

from mmengine.logging import print_log
from terminaltables import AsciiTable

from mmvps.evaluation.functional import WINDOW_PRESETS, VideoPanopticAccumulator
from mmvps.registry import METRICS
from mmvps.structures.panoptic import IGNORE_INDEX, decode_panoptic
from .base_video_stream_metric import BaseVideoStreamMetric, label_map_of

_GROUPS = (('all', ''), ('things', '_th'), ('stuff', '_st'))


def resolve_windows(windows):
    """``(window sizes, description)`` of a preset name or an explicit list of sizes."""
    if isinstance(windows, str):
        if windows not in WINDOW_PRESETS:
            raise ValueError(f'unknown VPQ window preset {windows!r}, expected one of '
                             f'{sorted(WINDOW_PRESETS)} or a list of window sizes')
        sizes = tuple(WINDOW_PRESETS[windows])
        return sizes, f'preset {windows!r} = {sizes}'
    sizes = tuple(int(n) for n in windows)
    if not sizes or min(sizes) < 1:
        raise ValueError(f'VPQ window sizes must be positive integers, got {windows!r}')
    names = [name for name, preset in WINDOW_PRESETS.items() if tuple(preset) == sizes]
    return sizes, f'{sizes} (explicit{", = preset " + repr(names[0]) if names else ""})'


def flatten_panoptic_results(results, scale=100.):
    """Flat ``{name: value}`` of the core's result: ``PQ``, ``VPQ@n=K``, ``VPQ`` (mean) with
    ``_th`` / ``_st`` for Things / Stuff, ``STQ``, ``AQ``, ``IoU``; empty groups are left out."""
    flat = {}

    def add(name, groups):
        for group, suffix in _GROUPS:
            if groups is not None and groups.get(group) is not None:
                flat[name + suffix] = groups[group] * scale

    add('PQ', results['PQ'])
    for key, groups in results['VPQ'].items():
        add('VPQ' if key == 'mean' else f'VPQ@{key}', groups)
    for key in ('STQ', 'AQ', 'IoU'):
        if results.get(key) is not None:
            flat[key] = results[key] * scale
    return flat


@METRICS.register_module()
class VideoPanopticMetric(BaseVideoStreamMetric):
    """PQ, VPQ (per window size and their mean) and STQ of video panoptic predictions.

    Each frame's ``pred_panoptic_seg.sem_seg`` and ``gt_panoptic_seg`` follow the mmvps panoptic
    convention (``sem + inst * 1000`` in training labels, void >= C, GT thing instance 0 = crowd)
    at the same size. Frames with ``is_annotated=False`` (Cityscapes-VPS) are not evaluated.

    The convention has one segment per stuff class and frame (stuff has instance 0) and no
    predicted crowd, so it cannot express what an official COCO-panoptic submission may hold:
    two segments of one stuff class, GT crowd segments of a stuff class, several GT crowd
    segments of one class (the official scripts use the last listed one). On such files only
    the offline scorer (``tools/analysis_tools/eval_vps.py``) gives the official numbers; on
    everything the convention expresses both agree (docs/conventions.md §6).

    Args:
        windows (str | Sequence[int]): VPQ window sizes (in evaluated frames), a preset name of
            ``WINDOW_PRESETS`` (``vipseg``, ``vipseg_official``, ``cityscapes_vps``, ``viper``,
            ``kitti_step``) or an explicit list. Defaults to ``'vipseg'`` (1, 2, 4, 6).
        with_stq (bool): Also compute STQ / AQ / IoU. Defaults to True.
        stq_vipseg_script_compat (bool): Reproduce VIPSeg's ``eval_stq_vspw.py`` numbering
            instead of deeplab2's STQ (for comparisons with published VIPSeg tables).
        classwise (bool): Log the per-class table.
        format_only, outfile_prefix, submission_format, collect_device, prefix: See
            :class:`BaseVideoStreamMetric`.
    """
    default_prefix = 'vps'

    def __init__(self,
                 windows: Union[str, Sequence[int]] = 'vipseg',
                 with_stq: bool = True,
                 stq_vipseg_script_compat: bool = False,
                 classwise: bool = False,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 submission_format: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(format_only, outfile_prefix, submission_format, collect_device, prefix)
        self.windows, description = resolve_windows(windows)
        print_log(f'{self.__class__.__name__}: VPQ windows {description}', logger='current')
        self.with_stq = with_stq
        self.stq_vipseg_script_compat = stq_vipseg_script_compat
        self.classwise = classwise

    def _categories(self):
        classes = list(self.dataset_meta['classes'])
        things = list(self.dataset_meta.get('thing_classes', ()))
        if classes[:len(things)] != things:
            raise ValueError(f'dataset_meta classes must list the thing classes first, got '
                             f'classes {classes[:len(things)]} and thing_classes {things}')
        return [dict(id=label, name=name, isthing=int(label < len(things)))
                for label, name in enumerate(classes)]

    def _new_accumulator(self):
        return VideoPanopticAccumulator(
            self._categories(), void=IGNORE_INDEX, windows=self.windows, with_stq=self.with_stq,
            stq_vipseg_script_compat=self.stq_vipseg_script_compat)

    def _prediction(self, frame, where):
        pred = label_map_of(frame, 'pred_panoptic_seg', where)
        if pred is None:
            raise ValueError(f'{where}: the data sample has no pred_panoptic_seg')
        return decode_panoptic(pred, self.num_classes)

    def _update(self, accumulator, video_name, frame, where):
        if frame.get('seg_map_path', '') is None:
            raise ValueError(f'{where}: the frame has no ground truth file (a split without '
                             f'masks); set format_only=True to write predictions instead')
        gt = label_map_of(frame, 'gt_panoptic_seg', where)
        if gt is None:
            raise ValueError(f'{where}: the data sample has no gt_panoptic_seg; load it with '
                             f'LoadVideoPanopticAnnotations(with_panoptic=True) or set '
                             f'format_only=True')
        pred_sem, pred_inst = self._prediction(frame, where)
        if gt.shape != pred_sem.shape:
            raise ValueError(f'{where}: prediction {pred_sem.shape} and ground truth {gt.shape} '
                             f'differ in size')
        gt_sem, gt_inst = decode_panoptic(gt, self.num_classes)
        accumulator.update(video_name, gt_sem, gt_inst, pred_sem, pred_inst)

    def _format_results(self, results):
        self._log_summary(results)
        if self.classwise:
            self._log_per_class(results['per_class'])
        return flatten_panoptic_results(results)

    def _log_summary(self, results):
        """Log PQ, VPQ per window size and their mean for All / Things / Stuff, and STQ (x100)."""
        columns = [('PQ', results['PQ'])] + [
            ('VPQ' if key == 'mean' else f'VPQ@{key}', groups)
            for key, groups in results['VPQ'].items()]
        rows = [[''] + [name for name, _ in columns]]
        for group, _ in _GROUPS:
            rows.append([group] + [
                '-' if groups is None or groups.get(group) is None else
                f'{100 * groups[group]:.2f}' for _, groups in columns])
        table = AsciiTable(rows).table
        if results.get('STQ') is not None:
            table += '\n' + '  '.join(f'{key} {100 * results[key]:.2f}'
                                      for key in ('STQ', 'AQ', 'IoU'))
        print_log('\n' + table, logger='current')

    def _log_per_class(self, per_class):
        """Log PQ / SQ / RQ and the VPQ of every window size per class (x100)."""
        keys = ['PQ', 'SQ', 'RQ'] + [f'VPQ@n={n}' for n in self.windows]
        rows = [['class'] + keys]
        for name, values in per_class.items():
            rows.append([name] + [
                '-' if values.get(k) is None else f'{100 * values[k]:.2f}' for k in keys])
        print_log('\n' + AsciiTable(rows).table, logger='current')
