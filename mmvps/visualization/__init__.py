from .local_visualizer import (VideoPanopticVisualizer, draw_frame, frame_out_file, frames_of,
                               track_color, write_video_overlays)

__all__ = [
    'VideoPanopticVisualizer', 'track_color', 'draw_frame', 'frame_out_file', 'frames_of',
    'write_video_overlays'
]
