"""Inference on trained models: rebuild a model's inputs from its checkpoint
(:class:`~molprobe.inference.inputs.ModelInputs`) and predict
(:func:`~molprobe.inference.predict.predict`). Used by evaluation, screening, probing and the
shortcut audit; it sits above ``training`` (checkpoints, data sources) and below the stages.
"""
