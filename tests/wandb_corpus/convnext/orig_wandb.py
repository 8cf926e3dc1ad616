# Source: https://github.com/facebookresearch/ConvNeXt/blob/048efcea897d999aed302f2639b6270aedf8d4c8/utils.py
# (WandbLogger), engine.py (train_one_epoch's per-batch logging) and main.py (the epoch loop) at the
# same commit. Repository facebookresearch/ConvNeXt at commit 048efcea897d999aed302f2639b6270aedf8d4c8
# (MIT licence).
# Shrunk: a subset of main.py's arguments, 2 epochs of 3 batches with numpy stand-in losses and
# accuracies instead of a ConvNeXt on ImageNet, use_amp off (the default); log_checkpoints (an
# artifact, not applicable) is not called, as with the default --wandb_ckpt false. The wandb calls
# are as in the source.
# argv: --enable_wandb true --project convnext-corpus --epochs 2

import argparse

import numpy as np


def str2bool(v):
    if isinstance(v, bool):
        return v
    if v.lower() in ('yes', 'true', 't', 'y', '1'):
        return True
    elif v.lower() in ('no', 'false', 'f', 'n', '0'):
        return False
    else:
        raise argparse.ArgumentTypeError('Boolean value expected.')


class WandbLogger(object):
    def __init__(self, args):
        self.args = args

        try:
            import wandb
            self._wandb = wandb
        except ImportError:
            raise ImportError(
                "To use the Weights and Biases Logger please install wandb."
                "Run `pip install wandb` to install it."
            )

        # Initialize a W&B run
        if self._wandb.run is None:
            self._wandb.init(
                project=args.project,
                config=args
            )

    def log_epoch_metrics(self, metrics, commit=True):
        """
        Log train/test metrics onto W&B.
        """
        # Log number of model parameters as W&B summary
        self._wandb.summary['n_parameters'] = metrics.get('n_parameters', None)
        metrics.pop('n_parameters', None)

        # Log current epoch
        self._wandb.log({'epoch': metrics.get('epoch')}, commit=False)
        metrics.pop('epoch')

        for k, v in metrics.items():
            if 'train' in k:
                self._wandb.log({f'Global Train/{k}': v}, commit=False)
            elif 'test' in k:
                self._wandb.log({f'Global Test/{k}': v}, commit=False)

        self._wandb.log({})

    def set_steps(self):
        # Set global training step
        self._wandb.define_metric('Rank-0 Batch Wise/*', step_metric='Rank-0 Batch Wise/global_train_step')
        # Set epoch-wise step
        self._wandb.define_metric('Global Train/*', step_metric='epoch')
        self._wandb.define_metric('Global Test/*', step_metric='epoch')


def train_one_epoch(epoch, num_training_steps_per_epoch, start_steps, wandb_logger=None, use_amp=False):
    losses, accs = [], []
    for data_iter_step in range(num_training_steps_per_epoch):
        it = start_steps + data_iter_step  # global training iteration
        loss_value = float(np.float32(6.9 / (1 + it)))
        class_acc = 0.1 * (1 + it)
        max_lr = min_lr = 4e-3 * (1 + it) / 6
        grad_norm = None
        losses.append(loss_value)
        accs.append(class_acc)

        if wandb_logger:
            wandb_logger._wandb.log({
                'Rank-0 Batch Wise/train_loss': loss_value,
                'Rank-0 Batch Wise/train_max_lr': max_lr,
                'Rank-0 Batch Wise/train_min_lr': min_lr
            }, commit=False)
            if class_acc:
                wandb_logger._wandb.log({'Rank-0 Batch Wise/train_class_acc': class_acc}, commit=False)
            if use_amp:
                wandb_logger._wandb.log({'Rank-0 Batch Wise/train_grad_norm': grad_norm}, commit=False)
            wandb_logger._wandb.log({'Rank-0 Batch Wise/global_train_step': it})
    return {"loss": float(np.mean(losses)), "class_acc": float(np.mean(accs)), "lr": max_lr}


def main():
    parser = argparse.ArgumentParser('ConvNeXt training and evaluation script for image classification')
    parser.add_argument('--batch_size', default=64, type=int, help='Per GPU batch size')
    parser.add_argument('--epochs', default=300, type=int)
    parser.add_argument('--model', default='convnext_tiny', type=str, metavar='MODEL',
                        help='Name of model to train')
    parser.add_argument('--drop_path', type=float, default=0, metavar='PCT',
                        help='Drop path rate (default: 0.0)')
    parser.add_argument('--lr', type=float, default=4e-3, metavar='LR',
                        help='learning rate (default: 4e-3), with total batch size 4096')
    parser.add_argument('--enable_wandb', type=str2bool, default=False,
                        help="enable logging to Weights and Biases")
    parser.add_argument('--project', default='convnext', type=str,
                        help="The name of the W&B project where you're sending the new run.")
    parser.add_argument('--wandb_ckpt', type=str2bool, default=False,
                        help="Save model checkpoints as W&B Artifacts.")
    args = parser.parse_args()

    if args.enable_wandb:
        wandb_logger = WandbLogger(args)
    else:
        wandb_logger = None

    n_parameters = 28589128
    num_training_steps_per_epoch = 3
    for epoch in range(args.epochs):
        if wandb_logger:
            wandb_logger.set_steps()
        train_stats = train_one_epoch(
            epoch, num_training_steps_per_epoch, epoch * num_training_steps_per_epoch, wandb_logger=wandb_logger
        )
        test_stats = {"loss": 6.5 - epoch, "acc1": 12.5 * (epoch + 1), "acc5": 30.25 * (epoch + 1)}
        log_stats = {**{f'train_{k}': v for k, v in train_stats.items()},
                     **{f'test_{k}': v for k, v in test_stats.items()},
                     'epoch': epoch,
                     'n_parameters': n_parameters}

        if wandb_logger:
            wandb_logger.log_epoch_metrics(log_stats)


if __name__ == '__main__':
    main()
