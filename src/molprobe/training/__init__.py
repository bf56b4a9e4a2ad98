"""molprobe.training: data batches, training loop, losses, metrics, checkpoints, devices.

Submodules are imported on use (``from molprobe.training.loop import train_model``) so that
importing the package stays light.
"""
