"""Drawing of video panoptic predictions during validation and testing."""
import os.path as osp
from typing import Optional, Sequence

from mmdet.structures import TrackDataSample
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from mmvps.registry import HOOKS
from mmvps.visualization import draw_frame, frame_out_file, frames_of, write_overlay_videos
from mmvps.visualization.local_visualizer import IMAGE_SUFFIXES


@HOOKS.register_module()
class VideoPanopticVisualizationHook(Hook):
    """Draw the panoptic predictions (and ground truth) of video models with the
    :class:`~mmvps.visualization.VideoPanopticVisualizer`, one stable colour per track.

    * Validation: every ``interval``-th frame goes to the visualizer's backends.
    * Testing: every ``test_interval``-th frame of each video is drawn (default: all); with
      ``test_out_dir`` it is written to ``<test_out_dir>/<video_name>/<frame_name><suffix>``
      (a relative ``test_out_dir`` lies under ``work_dir/<timestamp>/``, as with mmdet's
      ``tools/test.py --show-dir``) and, with ``write_mp4``, each video's drawings become
      ``<test_out_dir>/<video_name>.mp4`` at the end; else it goes to the backends; ``show``
      also displays it (and turns the backends off, as in mmdet).

    Args:
        draw (bool): draw at all (``tools/test.py --show-dir`` turns it on). Defaults to False.
        interval (int): validation frames between two drawings. Defaults to 50.
        show (bool): display the drawings in a window. Defaults to False.
        wait_time (float): seconds each shown drawing stays. Defaults to 0.
        test_out_dir (str, optional): folder of the test drawings.
        draw_gt (bool): draw ``gt_panoptic_seg`` where the data sample has it (left of the
            prediction). Defaults to True.
        draw_pred (bool): draw ``pred_panoptic_seg``. Defaults to True.
        backend_args (dict, optional): file backend arguments to read the frames.
        test_interval (int): draw every ``test_interval``-th frame of a test video (counted
            by ``frame_id``). Defaults to 1.
        suffix (str): ``'.jpg'`` or ``'.png'`` (lossless) for the written drawings. Defaults
            to ``'.jpg'``.
        write_mp4 (bool): also write an mp4 of each test video's drawings. Defaults to False.
        fps (float): frame rate of those videos. Defaults to 5 (VIPSeg's annotation rate).
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 test_out_dir: Optional[str] = None,
                 draw_gt: bool = True,
                 draw_pred: bool = True,
                 backend_args: Optional[dict] = None,
                 test_interval: int = 1,
                 suffix: str = '.jpg',
                 write_mp4: bool = False,
                 fps: float = 5.0) -> None:
        if interval < 1 or test_interval < 1:
            raise ValueError(f'interval and test_interval must be >= 1, got {interval} and '
                             f'{test_interval}')
        if suffix not in IMAGE_SUFFIXES:
            raise ValueError(f'suffix must be one of {IMAGE_SUFFIXES}, got {suffix!r}')
        self.test_interval = test_interval
        self.suffix = suffix
        self.write_mp4 = write_mp4
        self.fps = fps
        self._videos = []
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.interval = interval
        self.show = show
        if show:  # shown drawings are not stored, as in mmdet
            self._visualizer._vis_backends = {}
        self.wait_time = wait_time
        self.test_out_dir = test_out_dir
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self.backend_args = backend_args
        self._out_dir = None
        self._val_frames = 0
        self._test_frames = 0

    def before_test(self, runner: Runner) -> None:
        """Resolve ``test_out_dir`` under the run's ``work_dir/<timestamp>``."""
        self._test_frames = 0
        self._videos = []
        if self.test_out_dir is not None:
            self._out_dir = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)

    def _draw(self, frame, name: str, step: int, out_file: Optional[str] = None) -> None:
        draw_frame(
            self._visualizer, frame, out_file, self.draw_gt, self.draw_pred, show=self.show,
            wait_time=self.wait_time, step=step, name=name, backend_args=self.backend_args)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence[TrackDataSample]) -> None:
        """Draw every ``interval``-th validation frame to the backends."""
        if not self.draw:
            return
        for frame in frames_of(outputs):
            if self._val_frames % self.interval == 0:
                self._draw(frame, 'val_img', step=self._val_frames)
            self._val_frames += 1

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[TrackDataSample]) -> None:
        """Draw every ``test_interval``-th test frame (to
        ``<out>/<video_name>/<frame_name><suffix>`` when set)."""
        if not self.draw:
            return
        for frame in frames_of(outputs):
            if frame.get('frame_id', 0) % self.test_interval:
                continue
            out_file = None
            if self._out_dir is not None:
                out_file = frame_out_file(self._out_dir, frame, self.suffix)
                if frame.video_name not in self._videos:
                    self._videos.append(frame.video_name)
            self._draw(frame, 'test_img', step=self._test_frames, out_file=out_file)
            self._test_frames += 1

    def after_test(self, runner: Runner) -> None:
        """With ``write_mp4``, one mp4 per drawn test video next to its frames."""
        if self.draw and self.write_mp4 and self._out_dir is not None and self._videos:
            written = write_overlay_videos(self._out_dir, self.fps, self._videos)
            runner.logger.info(f'wrote {len(written)} overlay videos to {self._out_dir}')
