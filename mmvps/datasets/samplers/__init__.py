from .video_test_sampler import VideoBalancedTestSampler, balance_videos

__all__ = ['VideoBalancedTestSampler', 'balance_videos']
