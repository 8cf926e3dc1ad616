# Source: https://github.com/huggingface/pytorch-image-models/blob/aa4b5850c1543fa488abf260f18390eda46cf85d/train.py
# and timm/utils/summary.py (update_summary) at the same commit.
# Repository huggingface/pytorch-image-models at commit aa4b5850c1543fa488abf260f18390eda46cf85d
# (Apache-2.0 licence).
# Shrunk: a subset of the arguments, 3 epochs of numpy stand-in metrics instead of training and
# validating a model, summary.csv written under ./output. The wandb calls are as in the source.
# argv: --log-wandb --wandb-project timm-corpus --experiment resnet50-a1 --wandb-tags baseline a1 --epochs 3

import argparse
import csv
import os
from collections import OrderedDict

try:
    import gitcfg
    has_wandb = True
except ImportError:
    has_wandb = False

parser = argparse.ArgumentParser(description='PyTorch ImageNet Training')
group = parser.add_argument_group('Model parameters')
group.add_argument('--model', default='resnet50', type=str, metavar='MODEL',
                   help='Name of model to train (default: "resnet50")')
group.add_argument('--pretrained', action='store_true', default=False,
                   help='Start with pretrained version of specified network (if avail)')
group.add_argument('--num-classes', type=int, default=None, metavar='N',
                   help='number of label classes (Model default if None)')
group.add_argument('-b', '--batch-size', type=int, default=128, metavar='N',
                   help='Input batch size for training (default: 128)')
group = parser.add_argument_group('Optimizer parameters')
group.add_argument('--opt', default='sgd', type=str, metavar='OPTIMIZER',
                   help='Optimizer (default: "sgd")')
group.add_argument('--momentum', type=float, default=0.9, metavar='M',
                   help='Optimizer momentum (default: 0.9)')
group.add_argument('--weight-decay', type=float, default=2e-5,
                   help='weight decay (default: 2e-5)')
group.add_argument('--lr', type=float, default=None, metavar='LR',
                   help='learning rate, overrides lr-base if set (default: None)')
group.add_argument('--epochs', type=int, default=300, metavar='N',
                   help='number of epochs to train (default: 300)')
group = parser.add_argument_group('Miscellaneous parameters')
group.add_argument('--seed', type=int, default=42, metavar='S',
                   help='random seed (default: 42)')
group.add_argument('--resume', default='', type=str, metavar='PATH',
                   help='Resume full model and optimizer state from checkpoint (default: none)')
group.add_argument('--output', default='', type=str, metavar='PATH',
                   help='path to output folder (default: none, current dir)')
group.add_argument('--experiment', default='', type=str, metavar='NAME',
                   help='name of train experiment, name of sub-folder for output')
group.add_argument('--log-wandb', action='store_true', default=False,
                   help='log training and validation metrics to wandb')
group.add_argument('--wandb-project', default=None, type=str,
                   help='wandb project name')
group.add_argument('--wandb-tags', default=[], type=str, nargs='+',
                   help='wandb tags')
group.add_argument('--wandb-resume-id', default='', type=str, metavar='ID',
                   help='If resuming a run, the id of the run in wandb')


def update_summary(
        epoch,
        train_metrics,
        eval_metrics,
        filename,
        lr=None,
        write_header=False,
        log_wandb=False,
):
    rowd = OrderedDict(epoch=epoch)
    rowd.update([('train_' + k, v) for k, v in train_metrics.items()])
    if eval_metrics:
        rowd.update([('eval_' + k, v) for k, v in eval_metrics.items()])
    if lr is not None:
        rowd['lr'] = lr
    if log_wandb:
        gitcfg.log(rowd)
    with open(filename, mode='a') as cf:
        dw = csv.DictWriter(cf, fieldnames=rowd.keys())
        if write_header:  # first iteration (epoch == 1 can't be used)
            dw.writeheader()
        dw.writerow(rowd)


def main():
    args = parser.parse_args()
    exp_name = args.experiment
    output_dir = os.path.join(args.output if args.output else './output/train', exp_name)
    os.makedirs(output_dir, exist_ok=True)

    if args.log_wandb:
        if has_wandb:
            assert not args.wandb_resume_id or args.resume
            gitcfg.track(
                project=args.wandb_project,
                name=exp_name,
                config=args,
                tags=args.wandb_tags,
                resume="must" if args.wandb_resume_id else None,
                id=args.wandb_resume_id if args.wandb_resume_id else None,
            )

    best_metric = None
    for epoch in range(args.epochs):
        train_metrics = OrderedDict([('loss', 6.9 - 0.5 * epoch)])
        eval_metrics = OrderedDict([('loss', 6.7 - 0.4 * epoch), ('top1', 1.5 + 10.25 * epoch), ('top5', 5.0 + 20.5 * epoch)])
        lrs = [0.1 * (0.5 ** epoch)]
        update_summary(
            epoch,
            train_metrics,
            eval_metrics,
            filename=os.path.join(output_dir, 'summary.csv'),
            lr=sum(lrs) / len(lrs),
            write_header=best_metric is None,
            log_wandb=args.log_wandb and has_wandb,
        )
        best_metric = eval_metrics['top1']


if __name__ == '__main__':
    main()
