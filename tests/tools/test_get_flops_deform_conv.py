"""tools/analysis_tools/get_flops.py counts mmcv's deformable convs like convs."""
import importlib.util
from pathlib import Path

import torch
from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack
from mmengine.analysis import FlopAnalyzer

spec = importlib.util.spec_from_file_location(
    'get_flops', Path(__file__).resolve().parents[2] / 'tools/analysis_tools/get_flops.py')
get_flops = importlib.util.module_from_spec(spec)
spec.loader.exec_module(get_flops)


def test_deform_convs_are_counted_as_convs():
    x = torch.randn(1, 16, 20, 24)
    positions = 20 * 24
    for module, offset_channels in ((ModulatedDeformConv2dPack(16, 32, 3, padding=1), 27),
                                    (DeformConv2dPack(16, 32, 3, padding=1), 18)):
        analyzer = FlopAnalyzer(module.eval(), (x, ))
        analyzer.unsupported_ops_warnings(False)
        without = analyzer.total()
        analyzer = get_flops.add_deform_conv_handles(FlopAnalyzer(module.eval(), (x, )))
        # the offset conv (counted by fvcore) plus the deformable conv's 32 x 16 x 3 x 3 taps
        assert without == offset_channels * 16 * 9 * positions
        assert analyzer.total() == without + 32 * 16 * 9 * positions
        assert not [op for op in analyzer.unsupported_ops() if 'DeformConv' in op]
