"""Level-1 concepts: functional groups ("radicals"), a curated SMARTS list with sources.

Each group has a chemist's name, a SMARTS and a concept family: nested or near-duplicate
definitions (aliphatic / aromatic / any carboxylic acid; amide / primary amide / lactam) share
a family, so statistics over a level count each family once.

Sources:
- ``RDKit fr_<name>``: ``rdkit/Data/FragmentDescriptors.csv`` (the SMARTS behind
  ``rdkit.Chem.Fragments``), taken verbatim.
- ``Daylight``: the Daylight SMARTS examples page
  (https://www.daylight.com/dayhtml_doc/theory/theory.smarts.html, "SMARTS examples").
- ``molprobe``: written here where neither fits (e.g. amines that exclude amides, anilines
  and N-heteroatom bonds, which RDKit's ``fr_NH0/1/2`` do not).

Not radicals, so left out: ring and scaffold counts (``fr_benzene``, ``fr_bicyclic``,
heteroaromatic and saturated ring types), chain counts (``fr_unbrch_alkane``), metabolic
sites (``fr_para_hydroxylation``, ``fr_allylic_oxid``, ``fr_aryl_methyl``,
``fr_Ndealkylation*``, ``fr_HOCCN``), the any-halogen union (``fr_halogen``), and RDKit's
``fr_NH0/1/2`` (they count any N with that many H's, amide and nitro N included).
Mutagenicity alerts are their own family (:mod:`molprobe.chem.alerts`), not a level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem


@dataclass(frozen=True)
class Group:
    """One functional group: ``name`` (identifier), ``label`` (chemist's name),
    ``smarts``, ``family`` (concept family shared by nested definitions), ``source``."""

    name: str
    label: str
    smarts: str
    family: str
    source: str


_AMINE = "[NX3;+0;!$(N~[!#6;!#1]);!$(N-[#6]=[#7,#8,#16]);!$(N-a);!$(N-C=C);!$(N-C#N)]"

GROUPS: tuple[Group, ...] = (
    # --- carbonyl and carboxyl
    Group("ketone", "ketone", "[#6][CX3](=O)[#6]", "ketone", "RDKit fr_ketone"),
    Group("aldehyde", "aldehyde", "[CX3H1](=O)[#6]", "aldehyde", "RDKit fr_aldehyde"),
    Group("carboxylic_acid", "carboxylic acid", "[CX3](=O)[OX1H0-,OX2H1]", "carboxylic acid",
          "RDKit fr_COO2"),
    Group("carboxylic_acid_aliphatic", "aliphatic carboxylic acid", "C-C(=O)[O;H1,-]",
          "carboxylic acid", "RDKit fr_Al_COO"),
    Group("carboxylic_acid_aromatic", "aromatic carboxylic acid", "c-C(=O)[O;H1,-]",
          "carboxylic acid", "RDKit fr_Ar_COO"),
    Group("ester", "ester", "[#6][CX3](=O)[OX2H0][#6]", "ester", "RDKit fr_ester"),
    Group("lactone", "lactone (cyclic ester)", "[C&R1](=O)[O&R1][C&R1]", "ester",
          "RDKit fr_lactone"),
    Group("amide", "amide", "[CX3](=O)[NX3]", "amide", "Daylight"),
    Group("primary_amide", "primary amide", "C(=O)-[NH2]", "amide", "RDKit fr_priamide"),
    Group("beta_lactam", "beta-lactam", "N1C(=O)CC1", "amide", "RDKit fr_lactam"),
    Group("imide", "imide", "N(-C(=O))-C=O", "imide", "RDKit fr_imide"),
    Group("urea", "urea", "C(=O)(-N)-N", "urea", "RDKit fr_urea"),
    Group("carbamate", "carbamate", "[NX3][CX3](=[OX1])[OX2][#6]", "carbamate", "Daylight"),
    # --- oxygen
    Group("alcohol", "aliphatic alcohol", "[C!$(C=O)]-[OH]", "alcohol", "RDKit fr_Al_OH"),
    Group("alcohol_not_tertiary", "primary or secondary alcohol",
          "[$(C-[OX2H]);!$([CX3](-[OX2H])=[OX1]);!$([CD4]-[OX2H])]", "alcohol",
          "RDKit fr_Al_OH_noTert"),
    Group("phenol", "phenol (aromatic OH)", "c[OH1]", "phenol", "RDKit fr_Ar_OH"),
    Group("ether", "ether (incl. aryl ether)", "[OD2]([#6])[#6]", "ether", "RDKit fr_ether"),
    Group("methoxy", "methoxy", "[OX2](-[#6])-[CH3]", "ether", "RDKit fr_methoxy"),
    # --- nitrogen
    Group("primary_amine", "primary aliphatic amine", _AMINE.replace("NX3;", "NX3;H2;"),
          "amine", "molprobe"),
    Group("secondary_amine", "secondary aliphatic amine", _AMINE.replace("NX3;", "NX3;H1;"),
          "amine", "molprobe"),
    Group("tertiary_amine", "tertiary aliphatic amine", _AMINE.replace("NX3;", "NX3;H0;"),
          "amine", "molprobe"),
    Group("aniline", "aniline (aryl amine)", "c-[NX3;!$(N=*)]", "aniline", "RDKit fr_aniline"),
    Group("quaternary_ammonium", "quaternary ammonium", "[NX4+]", "quaternary ammonium",
          "Daylight"),
    Group("amidine", "amidine", "C(=N)(-N)-[!#7]", "amidine", "RDKit fr_amidine"),
    Group("guanidine", "guanidine", "C(=N)(N)N", "guanidine", "RDKit fr_guanido"),
    Group("imine", "imine", "[Nv3](=C)-[#6]", "imine", "RDKit fr_Imine"),
    Group("oxime", "oxime", "[CX3]=[NX2]-[OX2]", "oxime", "RDKit fr_oxime"),
    Group("nitrile", "nitrile", "[NX1]#[CX2]", "nitrile", "RDKit fr_nitrile"),
    Group("hydrazine", "hydrazine", "[NX3]-[NX3]", "hydrazine", "RDKit fr_hdrzine"),
    Group("hydrazone", "hydrazone", "C=N-[NX3]", "hydrazone", "RDKit fr_hdrzone"),
    Group("azo", "azo", "[#6]-N=N-[#6]", "azo", "RDKit fr_azo"),
    Group("nitro", "nitro", "[$([NX3](=O)=O),$([NX3+](=O)[O-])][!#8]", "nitro", "RDKit fr_nitro"),
    Group("nitro_aromatic", "nitroarene", "[$(c1(-[$([NX3](=O)=O),$([NX3+](=O)[O-])])ccccc1)]",
          "nitro", "RDKit fr_nitro_arom"),
    Group("nitroso", "nitroso", "[N!$(N-O)]=O", "nitroso", "RDKit fr_nitroso"),
    Group("n_oxide", "N-oxide", "[#7+;!$([#7+]=O)]-[OX1-]", "N-oxide", "Daylight"),
    Group("isocyanate", "isocyanate", "N=C=O", "isocyanate", "RDKit fr_isocyan"),
    Group("isothiocyanate", "isothiocyanate", "N=C=S", "isothiocyanate", "RDKit fr_isothiocyan"),
    Group("azide", "azide", "[$(*-[NX2-]-[NX2+]#[NX1]),$(*-[NX2]=[NX2+]=[NX1-])]", "azide",
          "RDKit fr_azide"),
    # --- sulfur and phosphorus
    Group("thiol", "thiol", "[SX2H]", "thiol", "RDKit fr_SH"),
    Group("thioether", "thioether (sulfide)", "[SX2](-[#6])-C", "thioether", "RDKit fr_sulfide"),
    Group("thiocarbonyl", "thiocarbonyl", "C=[SX1]", "thiocarbonyl", "RDKit fr_C_S"),
    Group("thiocyanate", "thiocyanate", "S-C#N", "thiocyanate", "RDKit fr_thiocyan"),
    Group("sulfoxide", "sulfoxide", "[SX3](=O)([#6])[#6]", "sulfoxide", "Daylight"),
    Group("sulfone", "sulfone", "S(=,-[OX1;+0,-1])(=,-[OX1;+0,-1])(-[#6])-[#6]", "sulfone",
          "RDKit fr_sulfone"),
    Group("sulfonamide", "sulfonamide", "N-S(=,-[OX1;+0,-1])(=,-[OX1;+0,-1])-[#6]", "sulfonamide",
          "RDKit fr_sulfonamd"),
    Group("primary_sulfonamide", "primary sulfonamide",
          "[NH2]-S(=,-[OX1;+0,-1])(=,-[OX1;+0,-1])-[#6]", "sulfonamide", "RDKit fr_prisulfonamd"),
    Group("sulfonic_acid", "sulfonic acid or sulfonate", "[SX4](=O)(=O)[OX2H1,OX1-]",
          "sulfonic acid", "Daylight"),
    Group("phosphoric_acid", "phosphoric / phosphonic acid", "[PX4](=O)[OX2H1,OX1-]",
          "phosphoric acid", "Daylight"),
    Group("phosphoric_ester", "phosphate ester", "P(=[OX1])([OX2][#6])", "phosphate ester",
          "Daylight"),
    # --- halogens and unsaturation
    Group("aryl_halide", "aryl halide", "c[F,Cl,Br,I]", "aryl halide", "Daylight"),
    Group("alkyl_halide", "alkyl halide", "[CX4]-[Cl,Br,I,F]", "alkyl halide",
          "RDKit fr_alkyl_halide"),
    Group("trifluoromethyl", "trifluoromethyl", "[CX4](F)(F)F", "alkyl halide", "Daylight"),
    Group("alkene", "alkene (non-aromatic C=C)", "[CX3]=[CX3]", "alkene", "Daylight"),
    Group("alkyne", "alkyne", "[CX2]#[CX2]", "alkyne", "Daylight"),
    Group("epoxide", "epoxide", "O1CC1", "epoxide", "RDKit fr_epoxide"),
)  # fmt: skip


@lru_cache(maxsize=1)
def group_patterns() -> tuple[Chem.Mol, ...]:
    """Compiled SMARTS of :data:`GROUPS` (built once per process)."""
    patterns = tuple(Chem.MolFromSmarts(g.smarts) for g in GROUPS)
    bad = [g.name for g, p in zip(GROUPS, patterns, strict=True) if p is None]
    if bad:
        raise ValueError(f"invalid SMARTS for groups {bad}")
    return patterns


def group_matches(mol: Chem.Mol) -> dict[str, tuple[tuple[int, ...], ...]]:
    """``{group name: atom-index tuples}`` of every group present in ``mol``."""
    out = {}
    for g, patt in zip(GROUPS, group_patterns(), strict=True):
        m = mol.GetSubstructMatches(patt, uniquify=True, maxMatches=1000)
        if m:
            out[g.name] = m
    return out
