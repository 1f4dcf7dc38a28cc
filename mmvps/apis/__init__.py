"""High-level inference: build a video model from a config and run it on a video, frame by
frame, whatever its clip length."""
from .inference import (FrameResult, build_frame_pipeline, clip_settings, init_model,
                        inference_video, read_frames)

__all__ = ['FrameResult', 'build_frame_pipeline', 'clip_settings', 'init_model',
           'inference_video', 'read_frames']
