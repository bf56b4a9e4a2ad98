"""molprobe.probing: look inside trained nets.

- :mod:`~molprobe.probing.activations`: forward-hook activations, random-init copies.
- :mod:`~molprobe.probing.probes`: multi-concept linear probes with controls, learning curves,
  online code length, sparse probes, hierarchy confound, node-level probes.
- :mod:`~molprobe.probing.neurons`: single-neuron detectors (DeepTox style).
- :mod:`~molprobe.probing.verdict`: layer locations per concept level with bootstrap intervals.
- :mod:`~molprobe.probing.plots`: heatmaps and per-level curves (the report draws the detector molecules).
"""
