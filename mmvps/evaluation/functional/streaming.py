"""Video bookkeeping shared by the streaming accumulators."""


class StreamingVideoAccumulator:
    """Frames of a video arrive consecutively; a new video name closes the previous video, and
    :meth:`merge` adds the statistics of another accumulator that saw other videos.

    Subclasses set ``MERGE_SETTINGS`` (attributes that must agree to merge) and implement
    ``_open_video``, ``_close_video`` and ``_merge_statistics``.
    """
    MERGE_SETTINGS = ()

    def __init__(self):
        self._closed = set()
        self._video = None
        self._frame_index = 0

    def _enter_video(self, video_name):
        """Start or continue ``video_name`` for the next frame; returns where that frame is, for
        error messages."""
        if video_name is None:
            raise ValueError('update() needs the name of the video the frame belongs to')
        if video_name != self._video:
            if video_name in self._closed:
                raise ValueError(f'video {video_name!r} was already closed: the frames of a '
                                 f'video must be given consecutively')
            self.finish()
            self._video = video_name
            self._open_video()
        return f'video {video_name!r} frame {self._frame_index}'

    def finish(self):
        """Close the open video (no later frame may join it)."""
        if self._video is None:
            return
        self._close_video()
        self._closed.add(self._video)
        self._video = None
        self._frame_index = 0

    def merge(self, other):
        """Add the statistics of ``other`` (same settings, other videos)."""
        for name in self.MERGE_SETTINGS:
            if getattr(self, name) != getattr(other, name):
                raise ValueError(f'cannot merge accumulators with different {name}: '
                                 f'{getattr(self, name)!r} vs {getattr(other, name)!r}')
        self.finish()
        other.finish()
        shared = self._closed & other._closed
        if shared:
            raise ValueError(f'cannot merge accumulators that both hold the videos '
                             f'{sorted(shared)}')
        self._merge_statistics(other)
        self._closed |= other._closed
        return self

    def _open_video(self):
        """Per-video state for a new video."""

    def _close_video(self):
        """Fold the open video's state into the totals and drop it."""

    def _merge_statistics(self, other):
        raise NotImplementedError
