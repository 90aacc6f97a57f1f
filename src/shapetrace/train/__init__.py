"""Training the seed's model on MNIST (``shapetrace train``, ``eval``, ``predict``): the one
configuration (``config``), the loop (``loop``, one step in ``step``), batches, checkpoints,
the output folder, evaluation, plots and DDP under torchrun."""
