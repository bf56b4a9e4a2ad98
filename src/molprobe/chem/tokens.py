"""SMILES as token sequences for sequence models (LSTM), and randomized SMILES for augmentation.

Tokens follow the regex of Schwaller et al. (Molecular Transformer, 2019): a bracket atom
``[...]`` is one token, ``Cl`` and ``Br`` are one token, ``%nn`` ring closures are one token,
everything else is one character. ``"".join(tokenize(s)) == s`` for every string.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from rdkit import Chem, RDLogger

from molprobe.errors import MolprobeError

RDLogger.DisableLog("rdApp.*")

SMILES_REGEX = re.compile(
    r"(\[[^\]]+\]|Br|Cl|%\([0-9]+\)|%[0-9]{2}|[BCNOPSFI]|[bcnops]|[()=#\-+\\/:~@?>*$.]|[0-9]|.)",
    re.DOTALL,
)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES into tokens; the tokens concatenate back to the input exactly."""
    return SMILES_REGEX.findall(smiles)


class SmilesTokenizer:
    """Token vocabulary + fixed-length integer encoding of SMILES.

    ``vocab`` lists the non-special tokens; ids are 0 = padding, 1 = unknown, 2 = begin,
    3 = end, then ``vocab`` in order. ``max_len`` (tokens including begin/end) is the width of
    the featurizer output; longer SMILES are truncated (the end token is kept).
    As a featurizer (``tokens``), ``__call__(smiles)`` returns ids int64 (n, max_len);
    lengths are ``(ids != 0).sum(1)``.
    """

    name = "tokens"

    def __init__(
        self,
        vocab: Sequence[str] | None = None,
        max_len: int | None = None,
        add_bos_eos: bool = True,
    ):
        self.vocab = None if vocab is None else list(vocab)
        self.max_len = None if max_len is None else int(max_len)
        self.add_bos_eos = bool(add_bos_eos)
        if self.max_len is not None and self.max_len < (3 if self.add_bos_eos else 1):
            raise MolprobeError(f"tokens: max_len {self.max_len} is too short")
        self._index_vocab()

    def _index_vocab(self) -> None:
        if self.vocab is None:
            self._ids = None
            return
        dup = [t for t, c in Counter(self.vocab).items() if c > 1 or t in SPECIAL_TOKENS]
        if dup:
            raise MolprobeError(f"tokens: vocabulary has duplicate or reserved tokens {dup[:5]}")
        self._ids = {t: i + len(SPECIAL_TOKENS) for i, t in enumerate(self.vocab)}

    # -- spec / featurizer protocol
    @property
    def spec(self) -> dict:
        return {
            "name": self.name,
            "vocab": self.vocab,
            "max_len": self.max_len,
            "add_bos_eos": self.add_bos_eos,
        }

    @classmethod
    def from_spec(cls, spec: dict) -> SmilesTokenizer:
        extra = set(spec) - {"name", "vocab", "max_len", "add_bos_eos"}
        if extra:
            raise MolprobeError(f"tokens featurizer: unknown parameter(s) {sorted(extra)}")
        return cls(spec.get("vocab"), spec.get("max_len"), spec.get("add_bos_eos", True))

    @property
    def n_features(self) -> int | None:
        return self.max_len

    @property
    def vocab_size(self) -> int:
        """Number of ids (special tokens included): the embedding table size."""
        self._require_fit()
        return len(SPECIAL_TOKENS) + len(self.vocab)

    def _require_fit(self) -> None:
        if self._ids is None:
            raise MolprobeError("tokens: the tokenizer has no vocabulary; call fit(smiles) first")

    # -- fitting / encoding
    def fit(self, smiles: Iterable[str], min_count: int = 1) -> SmilesTokenizer:
        """Vocabulary = tokens seen at least ``min_count`` times, most frequent first.

        Sets ``max_len`` to the longest sequence seen if it was None.
        """
        counts: Counter[str] = Counter()
        longest = 0
        for s in smiles:
            toks = tokenize(s)
            counts.update(toks)
            longest = max(longest, len(toks))
        self.vocab = [
            t
            for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if c >= min_count and t not in SPECIAL_TOKENS
        ]
        if self.max_len is None:
            self.max_len = max(longest + (2 if self.add_bos_eos else 0), 3)
        self._index_vocab()
        return self

    def tokenize(self, smiles: str) -> list[str]:
        return tokenize(smiles)

    def encode(
        self, smiles_list: Sequence[str], max_len: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token ids int64 (n, L) padded with 0, and lengths int64 (n,) (begin/end included).

        ``L`` is ``max_len`` (argument, else the tokenizer's), else the longest in the batch.
        """
        self._require_fit()
        ids = self._ids
        extra = 2 if self.add_bos_eos else 0
        seqs = []
        for s in smiles_list:
            seq = [ids.get(t, 1) for t in tokenize(s)]
            seqs.append([2, *seq, 3] if self.add_bos_eos else seq)
        L = max_len if max_len is not None else self.max_len
        if L is None:
            L = max((len(q) for q in seqs), default=extra)
        out = np.zeros((len(seqs), L), dtype=np.int64)
        lengths = np.empty(len(seqs), dtype=np.int64)
        for i, seq in enumerate(seqs):
            if len(seq) > L:  # truncate, keep the end token
                seq = (seq[: L - 1] + [3]) if self.add_bos_eos else seq[:L]
            out[i, : len(seq)] = seq
            lengths[i] = len(seq)
        return out, lengths

    def decode(self, ids: np.ndarray) -> list[str]:
        """SMILES strings from id rows (stops at end/padding; unknown ids become ``?``)."""
        self._require_fit()
        ids = np.atleast_2d(np.asarray(ids))
        table = list(SPECIAL_TOKENS) + self.vocab
        out = []
        for row in ids:
            toks = []
            for i in row.tolist():
                if i in (0, 3):
                    break
                if i == 2:
                    continue
                toks.append(table[i] if 3 < i < len(table) else "?")
            out.append("".join(toks))
        return out

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        return self.encode(smiles)[0]

    def __repr__(self) -> str:
        n = None if self.vocab is None else len(self.vocab)
        return f"SmilesTokenizer(vocab={n} tokens, max_len={self.max_len})"


def randomized_smiles(smiles: str, n: int, seed: int = 0) -> list[str]:
    """``n`` random (non-canonical) SMILES of one molecule, reproducible for a given ``seed``.

    Uses RDKit's random atom ordering (``MolToRandomSmilesVect``); every output canonicalises
    back to the input's canonical SMILES. Stereo is kept.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise MolprobeError(f"RDKit cannot parse SMILES {smiles!r}")
    if n <= 0:
        return []
    # RDKit treats randomSeed=0 as "unseeded", so shift user seeds by one
    return list(Chem.MolToRandomSmilesVect(mol, int(n), randomSeed=int(seed) % (2**31 - 1) + 1))
