"""Fixed-k k-means colormap decoder (the paper's Table 8 baseline, k = 3).

Clusters the *unique colours* of the colormap weighted by their pixel counts (scikit-learn ``KMeans`` with
``sample_weight``): the same weighted objective as clustering every pixel, on far fewer points. Seeding
is k-means++ with a fixed ``seed``, so decoding is deterministic. The background cluster (mean colour
nearest black) is dropped unless ``keep_background``, exactly as in PDM
(:func:`unigs.decoders._common.decode_from_color_labels`).
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np

from unigs.colormap import check_colormap
from unigs.decoders import _common as C
from unigs.decoders.base import FeatureDecoder


@attrs.frozen
class KMeansConfig:
    k: int = attrs.field(default=3, validator=C.positive_int)
    feature: str = attrs.field(default="rgb+lab", validator=C.check_feature_name)
    seed: int = attrs.field(default=0, validator=C.non_negative_int)
    n_init: int = attrs.field(default=3, validator=C.positive_int)
    max_iter: int = attrs.field(default=300, validator=C.positive_int)
    keep_background: bool = C.keep_background_field()


class KMeansDecoder(FeatureDecoder):
    """k-means with a fixed number of clusters ``k`` (``num_entities`` is ignored)."""

    Config = KMeansConfig

    def decode(self, colormap: np.ndarray, *, num_entities: int | None = None) -> np.ndarray:
        return self._decode(check_colormap(colormap), self.config.k)

    def _decode(self, colormap: np.ndarray, k: int) -> np.ndarray:
        uc = C.unique_colors(colormap)
        labels = weighted_kmeans(
            C.color_features(self.feature, uc.colors), uc.counts, k,
            seed=self.config.seed, n_init=self.config.n_init, max_iter=self.config.max_iter,
        )
        return C.decode_from_color_labels(uc, labels, int(labels.max()) + 1, self.config.keep_background)


def weighted_kmeans(x: np.ndarray, weights: np.ndarray, k: int, *, seed: int, n_init: int, max_iter: int) -> np.ndarray:
    """Labels (n,) of scikit-learn k-means on points ``x`` weighted by ``weights``.

    With at most ``k`` distinct points each point is its own cluster (scikit-learn would refuse
    ``n_samples < n_clusters`` and warn about duplicate points).
    """
    n = x.shape[0]
    if n <= k:
        return np.arange(n)
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct feature vectors than k
        return km.fit(x, sample_weight=weights.astype(np.float64)).labels_.astype(np.int64)
