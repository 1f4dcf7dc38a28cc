"""High-level inference: build a video model from a config and run it on a video, frame by
frame, whatever its clip length."""
from .inference import (IMAGE_EXTENSIONS, FrameResult, count_frames, build_frame_pipeline, clip_settings, init_model,
                        inference_video, read_frames)

__all__ = ['IMAGE_EXTENSIONS', 'FrameResult', 'count_frames', 'build_frame_pipeline', 'clip_settings', 'init_model',
           'inference_video', 'read_frames']
