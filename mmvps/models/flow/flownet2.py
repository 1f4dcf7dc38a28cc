"""FlowNet 2.0 (Ilg et al., CVPR 2017) in plain PyTorch, with the state-dict keys of NVIDIA's
flownet2-pytorch ``FlowNet2`` (its public ``FlowNet2_checkpoint.pth.tar`` loads strictly).

The custom CUDA ops are replaced: Correlation by :func:`local_correlation` (1x1 patch,
displacement 20, stride 2: 441 channels), Resample2d by :func:`flow_warp` with border padding
(Resample2d clamps each bilinear neighbour, which equals clamping the sample point), ChannelNorm
by :func:`channel_norm`.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.models.ops import channel_norm, flow_warp, local_correlation
from mmvps.registry import MODELS


def _conv(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, act: bool = True):
    """``Sequential(Conv2d[, LeakyReLU(0.1)])``: keys ``<name>.0.weight`` / ``.0.bias``."""
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2)]
    if act:
        layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


def _deconv(in_ch: int, out_ch: int):
    return nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1), nn.LeakyReLU(0.1))


# the encoder levels 4-6 that FlowNetC, FlowNetS and FlowNetSD share: (level, conv{level} out,
# conv{level}_1 out, kernel)
DEEP_STAGES = ((4, 512, 512, 3), (5, 512, 512, 3), (6, 1024, 1024, 3))


class _FlowNetMixin:
    """The parts every FlowNet sub-net is built of. Encoder stages: per level ``conv{l}``
    (stride 2) then ``conv{l}_1`` (3x3). Decoder (the FlowNet refinement): from the deepest level
    up, ``concat[skip, deconv(x), up(flow)]``, (``inter_conv``,) ``predict_flow``; it returns the
    finest flow (stride 4 of the sub-net input)."""

    def _add_stages(self, in_ch: int, stages: Sequence[Sequence[int]]) -> None:
        # stages: (level, conv{level} out channels, conv{level}_1 out channels, conv{level} kernel)
        self.stages = tuple(level for level, _, _, _ in stages)
        for level, out_ch, out1_ch, kernel in stages:
            setattr(self, f'conv{level}', _conv(in_ch, out_ch, kernel, 2))
            setattr(self, f'conv{level}_1', _conv(out_ch, out1_ch))
            in_ch = out1_ch

    def _encode(self, x: Tensor) -> List[Tensor]:
        """The output of every stage, shallow to deep."""
        outs = []
        for level in self.stages:
            x = getattr(self, f'conv{level}_1')(getattr(self, f'conv{level}')(x))
            outs.append(x)
        return outs

    def _add_decoder(self, top: int, skips: Sequence[int], levels: Sequence[int],
                     up_bias: bool, inter: Optional[Sequence[int]] = None) -> None:
        # levels: decoder levels from coarse to fine, e.g. (6, 5, 4, 3, 2); skips: channels of
        # the encoder map concatenated at each level below the top; inter: inter_conv outputs
        self.levels = tuple(levels)
        self.with_inter = inter is not None
        in_ch = top
        setattr(self, f'predict_flow{levels[0]}', nn.Conv2d(in_ch, 2, 3, 1, 1))
        deconv_out = {5: 512, 4: 256, 3: 128, 2: 64, 1: 32, 0: 16}
        pred_in = in_ch
        for i, level in enumerate(levels[1:]):
            setattr(self, f'deconv{level}', _deconv(in_ch, deconv_out[level]))
            setattr(self, f'upsampled_flow{level + 1}_to_{level}',
                    nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=up_bias))
            in_ch = skips[i] + deconv_out[level] + 2
            pred_in = in_ch
            if self.with_inter:
                setattr(self, f'inter_conv{level}', _conv(in_ch, inter[i], act=False))
                pred_in = inter[i]
            setattr(self, f'predict_flow{level}', nn.Conv2d(pred_in, 2, 3, 1, 1))

    def _decode(self, top: Tensor, skips: List[Tensor]) -> Tensor:
        x = top
        flow = getattr(self, f'predict_flow{self.levels[0]}')(x)
        for level, skip in zip(self.levels[1:], skips):
            up = getattr(self, f'upsampled_flow{level + 1}_to_{level}')(flow)
            x = torch.cat([skip, getattr(self, f'deconv{level}')(x), up], dim=1)
            pred_in = getattr(self, f'inter_conv{level}')(x) if self.with_inter else x
            flow = getattr(self, f'predict_flow{level}')(pred_in)
        return flow


class FlowNetCTorch(nn.Module, _FlowNetMixin):
    """FlowNetC: a shared 3-conv stream per image, correlation (d 20, stride 2) + LeakyReLU,
    merged encoder to stride 64, decoder to stride 4."""

    def __init__(self):
        super().__init__()
        self.conv1 = _conv(3, 64, 7, 2)
        self.conv2 = _conv(64, 128, 5, 2)
        self.conv3 = _conv(128, 256, 5, 2)
        self.conv_redir = _conv(256, 32, 1)
        self.conv3_1 = _conv(32 + 441, 256)
        self._add_stages(256, DEEP_STAGES)
        self._add_decoder(1024, (512, 512, 256, 128), (6, 5, 4, 3, 2), up_bias=True)

    def forward(self, x: Tensor) -> Tensor:
        # both images through the shared stream as one batch
        conv2 = self.conv2(self.conv1(torch.cat(x.split(3, dim=1), dim=0)))
        a, b = self.conv3(conv2).chunk(2, dim=0)
        conv2a = conv2.chunk(2, dim=0)[0]
        corr = F.leaky_relu(local_correlation(a, b, 20, stride=2), 0.1)
        conv3 = self.conv3_1(torch.cat([self.conv_redir(a), corr], dim=1))
        conv4, conv5, conv6 = self._encode(conv3)
        return self._decode(conv6, [conv5, conv4, conv3, conv2a])


class FlowNetSTorch(nn.Module, _FlowNetMixin):
    """FlowNetS on a 12-channel stack (images, warped image, flow, brightness error)."""

    def __init__(self, in_channels: int = 12):
        super().__init__()
        self.conv1 = _conv(in_channels, 64, 7, 2)
        self.conv2 = _conv(64, 128, 5, 2)
        self._add_stages(128, ((3, 256, 256, 5), ) + DEEP_STAGES)
        self._add_decoder(1024, (512, 512, 256, 128), (6, 5, 4, 3, 2), up_bias=False)

    def forward(self, x: Tensor) -> Tensor:
        conv2 = self.conv2(self.conv1(x))
        conv3, conv4, conv5, conv6 = self._encode(conv2)
        return self._decode(conv6, [conv5, conv4, conv3, conv2])


class FlowNetSDTorch(nn.Module, _FlowNetMixin):
    """FlowNet-SD (small displacements): stride-1 first conv, inter convs in the decoder."""

    def __init__(self):
        super().__init__()
        self.conv0 = _conv(6, 64)
        self._add_stages(64, ((1, 64, 128, 3), (2, 128, 128, 3), (3, 256, 256, 3)) + DEEP_STAGES)
        self._add_decoder(1024, (512, 512, 256, 128), (6, 5, 4, 3, 2), up_bias=True,
                          inter=(512, 256, 128, 64))

    def forward(self, x: Tensor) -> Tensor:
        conv1, conv2, conv3, conv4, conv5, conv6 = self._encode(self.conv0(x))
        return self._decode(conv6, [conv5, conv4, conv3, conv2])


class FlowNetFusionTorch(nn.Module, _FlowNetMixin):
    """The fusion net: merges the large- (CSS) and small-displacement (SD) flows at full
    resolution (11 input channels)."""

    def __init__(self):
        super().__init__()
        self.conv0 = _conv(11, 64)
        self._add_stages(64, ((1, 64, 128, 3), (2, 128, 128, 3)))
        self._add_decoder(128, (128, 64), (2, 1, 0), up_bias=True, inter=(32, 16))

    def forward(self, x: Tensor) -> Tensor:
        conv0 = self.conv0(x)
        conv1, conv2 = self._encode(conv0)
        return self._decode(conv2, [conv1, conv0])


@MODELS.register_module()
class FlowNet2Torch(BaseModule):
    """FlowNet2 (FlowNetC + 2x FlowNetS + FlowNetSD + fusion) in plain PyTorch.

    Input: the preprocessed key and reference images ``[B, 3, H, W]`` (``(rgb - mean) / std``;
    ``mean`` / ``std`` are the data preprocessor's, in the same channel order, RGB). They are
    de-normalised to 0-255, zero-padded right/bottom to a multiple of ``pad_divisor`` (64),
    shifted by the per-channel mean over both padded frames and divided by 255, as in the
    released VPSNet. Output: the flow key -> reference at input resolution, in input pixels.

    ``checkpoint``: a path to NVIDIA's ``FlowNet2_checkpoint.pth.tar`` (or any file whose
    ``state_dict`` has the same keys); it is loaded strictly at construction. ``frozen=True``
    (VPSNet's setting) keeps the net in eval mode without gradients. Parameter names equal
    flownet2-pytorch's, so its checkpoint needs no conversion.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 rgb_max: float = 255.0,
                 div_flow: float = 20.0,
                 pad_divisor: int = 64,
                 checkpoint: Optional[str] = None,
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.rgb_max = rgb_max
        self.div_flow = div_flow
        self.pad_divisor = pad_divisor
        self.frozen = frozen
        self.flownetc = FlowNetCTorch()
        self.flownets_1 = FlowNetSTorch()
        self.flownets_2 = FlowNetSTorch()
        self.flownets_d = FlowNetSDTorch()
        self.flownetfusion = FlowNetFusionTorch()
        if checkpoint is not None:
            self.load_flownet2_checkpoint(checkpoint)
            self._is_init = True  # keep the loaded weights through init_weights()
        if frozen:
            self.requires_grad_(False)
            self.train(False)

    def load_flownet2_checkpoint(self, path: str) -> None:
        """Load a flownet2-pytorch checkpoint (``{'state_dict': ...}`` or a bare state dict)
        strictly; errors name the file."""
        try:
            obj = torch.load(path, map_location='cpu', weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f'{path}: no such FlowNet2 checkpoint') from None
        except Exception as err:  # noqa: BLE001 -- any unreadable file
            raise ValueError(f'{path}: not a readable FlowNet2 checkpoint ({err})') from None
        state = obj.get('state_dict', obj) if isinstance(obj, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f'{path}: expected a dict with a "state_dict", got {type(obj)}')
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or wrong:
            raise ValueError(f'{path}: not a FlowNet2 checkpoint: missing {missing[:5]}, '
                             f'unexpected {unexpected[:5]}, wrong shapes {wrong[:5]}')
        self.load_state_dict(state, strict=True)

    def train(self, mode: bool = True):
        return super().train(False if self.frozen else mode)

    def _resample(self, img: Tensor, flow: Tensor) -> Tensor:
        return flow_warp(img, flow, padding_mode='border', align_corners=True)

    def forward(self, key_img: Tensor, ref_img: Tensor) -> Tensor:
        height, width = key_img.shape[-2:]
        d = self.pad_divisor
        pad = (0, (-width) % d, 0, (-height) % d)
        rgb1 = F.pad(key_img * self.std + self.mean, pad)
        rgb2 = F.pad(ref_img * self.std + self.mean, pad)
        mean = (rgb1.mean(dim=(2, 3), keepdim=True) + rgb2.mean(dim=(2, 3), keepdim=True)) / 2
        x1 = (rgb1 - mean) / self.rgb_max
        x2 = (rgb2 - mean) / self.rgb_max
        x = torch.cat([x1, x2], dim=1)

        def up(flow, mode):
            return F.interpolate(flow, scale_factor=4, mode=mode,
                                 align_corners=False if mode == 'bilinear' else None)

        def brightness_error(flow):
            warped = self._resample(x2, flow)
            return warped, channel_norm(x1 - warped)

        flow_c = up(self.flownetc(x) * self.div_flow, 'bilinear')
        warped, error = brightness_error(flow_c)
        flow_s1 = up(self.flownets_1(torch.cat([x, warped, flow_c / self.div_flow, error], 1))
                     * self.div_flow, 'bilinear')
        warped, error = brightness_error(flow_s1)
        flow_s2 = up(self.flownets_2(torch.cat([x, warped, flow_s1 / self.div_flow, error], 1))
                     * self.div_flow, 'nearest')
        # the released graph divides the SD flow by div_flow (its checkpoint was trained so)
        flow_sd = up(self.flownets_d(x) / self.div_flow, 'nearest')
        fused = self.flownetfusion(torch.cat([
            x1, flow_sd, flow_s2, channel_norm(flow_sd), channel_norm(flow_s2),
            brightness_error(flow_sd)[1], brightness_error(flow_s2)[1]], dim=1))
        return fused[..., :height, :width]
