"""Curves and training time from mmengine's JSON scalar logs
(``work_dirs/<name>/<timestamp>/vis_data/scalars.json``; one JSON dict per line, with
``step``). Works for iteration-based runs, the mmvps default (mmdet's script groups by epoch).

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve RUN/vis_data/scalars.json \
        --keys loss vps/STQ --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time RUN/vis_data/scalars.json
"""
import argparse
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple

import numpy as np


def load_json_log(path: str) -> Dict[str, List[Tuple[int, float]]]:
    """``{key: [(step, value), ...]}`` of one log; training lines (with ``lr``) and
    validation lines alike."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: log file not found')
    series = defaultdict(list)
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}:{number}: not a JSON line ({error.msg})') from None
            step = record.get('step', record.get('iter'))
            if step is None:
                continue
            for key, value in record.items():
                if key not in ('step', 'iter', 'epoch') and isinstance(value, (int, float)):
                    series[key].append((int(step), float(value)))
    if not series:
        raise ValueError(f'{path}: no logged values with a step')
    return dict(series)


def plot_curve(logs: List[str], keys: List[str], out: str, title: str = None) -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 4))
    for path in logs:
        series = load_json_log(path)
        for key in keys:
            if key not in series:
                raise KeyError(f'{path}: no "{key}" logged; logged keys: {sorted(series)}')
            steps, values = zip(*series[key])
            label = key if len(logs) == 1 else f'{osp.basename(osp.dirname(osp.dirname(path)))}'\
                f' {key}'
            axis.plot(steps, values, marker='o' if len(steps) < 20 else None, label=label)
    axis.set_xlabel('iteration')
    axis.legend()
    if title:
        axis.set_title(title)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    return out


def cal_train_time(path: str) -> dict:
    """Mean, slowest and fastest logged ``time`` (seconds per training iteration)."""
    series = load_json_log(path)
    train_steps = {step for step, _ in series.get('lr', [])}
    times = np.array([value for step, value in series.get('time', []) if step in train_steps])
    if not times.size:
        raise ValueError(f'{path}: no training "time" logged')
    return dict(mean=float(times.mean()), slowest=float(times.max()),
                fastest=float(times.min()), std=float(times.std()), logged=int(times.size))


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Analyse mmengine JSON scalar logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot logged values against the iteration')
    plot.add_argument('json_logs', nargs='+')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--title')
    plot.add_argument('--out', default='curves.png', help='output image (.png, .pdf, ...)')
    time = sub.add_parser('cal_train_time', help='seconds per training iteration')
    time.add_argument('json_logs', nargs='+')
    return parser.parse_args(args)


def main(args=None):
    args = parse_args(args)
    if args.task == 'plot_curve':
        print(f'saved {plot_curve(args.json_logs, args.keys, args.out, args.title)}')
        return args.out
    results = {}
    for path in args.json_logs:
        results[path] = cal_train_time(path)
        print(f'{path}: {results[path]["mean"]:.4f} s/iter on average (slowest '
              f'{results[path]["slowest"]:.4f}, fastest {results[path]["fastest"]:.4f}, '
              f'{results[path]["logged"]} logged)')
    return results


if __name__ == '__main__':
    main()
