"""Small generated videos for the inference API and demo tests."""
from pathlib import Path

import cv2
import numpy as np

HEIGHT, WIDTH = 96, 160


def static_frames(num_frames: int, height: int = HEIGHT, width: int = WIDTH):
    """``num_frames`` BGR frames of one static scene: sky, ground and a square, each frame the
    same picture plus a little noise."""
    rng = np.random.default_rng(0)
    base = np.zeros((height, width, 3), np.uint8)
    base[:height // 2] = (230, 180, 120)  # sky
    base[height // 2:] = (60, 110, 150)  # ground
    base[30:60, 60:90] = (40, 40, 220)  # a square
    return [np.clip(base.astype(int) + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8)
            for _ in range(num_frames)]


def write_mp4(path: Path, frames, fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    assert writer.isOpened(), f'OpenCV cannot write {path}'
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_folder(folder: Path, frames) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        assert cv2.imwrite(str(folder / f'{i:05d}.png'), frame)
    return folder
