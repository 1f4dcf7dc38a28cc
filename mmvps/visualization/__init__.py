from .local_visualizer import (VideoPanopticVisualizer, draw_frame, frame_out_file, frames_of,
                               match_to_gt, track_color, write_mp4, write_overlay_videos,
                               write_video_overlays)

__all__ = [
    'VideoPanopticVisualizer', 'track_color', 'match_to_gt', 'draw_frame', 'frame_out_file',
    'frames_of', 'write_video_overlays', 'write_mp4', 'write_overlay_videos'
]
