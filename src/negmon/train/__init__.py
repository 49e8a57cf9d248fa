"""Training, evaluation and model building (the ``[train]`` extra); inference never imports this package."""
