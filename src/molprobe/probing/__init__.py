"""molprobe.probing: look inside trained nets.

- :mod:`~molprobe.probing.activations`: forward-hook activations, random-init copies.
- :mod:`~molprobe.probing.emergence`: ridge probes of raw units, gain over the input and over
  random-init copies, conditional probes, emergence / peak layers with bootstrap intervals.
- :mod:`~molprobe.probing.controls`: control tasks matched in prevalence and locality.
- :mod:`~molprobe.probing.erasure`: LEACE causal test against a random subspace.
- :mod:`~molprobe.probing.neurons`: single-neuron detectors, selected and scored on disjoint
  scaffold halves.
- :mod:`~molprobe.probing.planted`: the instrument's planted positive and negative controls.
- :mod:`~molprobe.probing.run`: :func:`probe_models`, the application function of the CLI.
- :mod:`~molprobe.probing.verdict`: the ordering sentence and the Markdown verdict.
- :mod:`~molprobe.probing.plots`: emergence curves per level and a concept heatmap.
- :mod:`~molprobe.probing.probes`: the earlier multi-measure logistic probes (learning curves,
  description length, sparse probes, node-level probes), kept as a secondary view.
"""
