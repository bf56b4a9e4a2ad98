"""Attribution of a model's prediction to every input it reads (used by screening and the
shortcut audit; imports neither).

- :mod:`~molprobe.attribution.integrated`: integrated gradients (Sundararajan et al., ICML
  2017) on captum over the whole input: fingerprint bits and descriptors of vector nets; atom
  features, bond features and molecule-level descriptors of graph nets; gradient x input.
- :mod:`~molprobe.attribution.atoms`: credit folded onto atoms (ECFP bit environments, bond
  endpoints) and bonds, per molecule (:class:`MoleculeAttribution`).

Callers pass the model and its input (an array or a GraphStore built as at training); this
package never rebuilds inputs from files.
"""

from molprobe.attribution.atoms import (
    MoleculeAttribution,
    attribution_method,
    bits_to_atoms,
    ecfp_bit_atoms,
    molecule_attributions,
)
from molprobe.attribution.integrated import (
    IG_STEPS,
    gradient_x_input,
    graph_integrated_gradients,
    integrated_gradients,
)

__all__ = [
    "IG_STEPS",
    "MoleculeAttribution",
    "attribution_method",
    "bits_to_atoms",
    "ecfp_bit_atoms",
    "gradient_x_input",
    "graph_integrated_gradients",
    "integrated_gradients",
    "molecule_attributions",
]
