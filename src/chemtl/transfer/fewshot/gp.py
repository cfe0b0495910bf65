"""Few-shot regression: a Gaussian process on (frozen) embeddings, with a predictive spread.

sklearn's ``GaussianProcessRegressor`` with the kernel

    ConstantKernel(1.0) * RBF(length_scale=l0) + WhiteKernel(noise)

and ``normalize_y=True`` (targets standardised on the support set, predictions and standard
deviations returned in the target's units). The amplitude, the (isotropic) length scale and the
noise level are fitted on the support set by maximising the log marginal likelihood (sklearn's
L-BFGS-B, ``n_restarts`` extra random starts drawn with ``seed``). The length scale starts at the
median pairwise distance of the support embeddings (``l0``) and may move within
``[l0 / 100, l0 * 100]``, so the fit does not depend on the scale of the embedding space.
``noise=None`` fits the noise level in ``[1e-6, 10]`` (on the standardised targets); a number
fixes it, and a tiny fixed noise makes the predictive mean pass through the support points.
``predict_std`` is the predictive standard deviation of a new observation (it includes the
fitted noise).
"""

from __future__ import annotations

import numpy as np

from chemtl.errors import ChemtlError


def median_distance(X: np.ndarray) -> float:
    """Median Euclidean distance between distinct rows of ``X`` (1.0 when there is none)."""
    from scipy.spatial.distance import pdist

    d = pdist(np.asarray(X, dtype=np.float64))
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0


class GaussianProcess:
    """The ``FewShotMethod`` "gp" (regression only); see the module docstring."""

    name = "gp"
    features = "embedding"

    def __init__(
        self,
        task: str = "regression",
        seed: int = 0,
        noise: float | None = None,
        n_restarts: int = 2,
    ) -> None:
        if task != "regression":
            raise ChemtlError(
                f"method 'gp' is a regressor; task {task!r} needs another method (protonet, linear_probe, knn, rf)"
            )
        if noise is not None and not noise > 0:
            raise ChemtlError(f"gp noise must be > 0 or None (fitted), got {noise!r}")
        self.task = task
        self.seed = int(seed)
        self.noise = noise
        self.n_restarts = int(n_restarts)
        self.model = None

    def kernel(self, X: np.ndarray):
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        l0 = median_distance(X)
        white = (
            WhiteKernel(1e-2, noise_level_bounds=(1e-6, 10.0))
            if self.noise is None
            else WhiteKernel(self.noise, noise_level_bounds="fixed")
        )
        return (
            ConstantKernel(1.0, constant_value_bounds=(1e-3, 1e3))
            * RBF(length_scale=l0, length_scale_bounds=(l0 / 100, l0 * 100))
            + white
        )

    def fit(self, X: np.ndarray, y: np.ndarray, task: str, n_classes: int | None = None) -> GaussianProcess:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor

        if task != "regression":
            raise ChemtlError(f"method 'gp' is a regressor; task {task!r} needs another method")
        x = np.asarray(X, dtype=np.float64)
        t = np.asarray(y, dtype=np.float64)
        if len(x) < 2:
            raise ChemtlError(f"method 'gp' needs at least 2 support rows, got {len(x)}")
        self.model = GaussianProcessRegressor(
            kernel=self.kernel(x),
            normalize_y=True,
            n_restarts_optimizer=self.n_restarts,
            random_state=self.seed,
        )
        with warnings.catch_warnings():  # a hyperparameter at its bound is a fit, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(x, t)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("GaussianProcess.predict before fit")
        return self.model.predict(np.asarray(X, dtype=np.float64))

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("GaussianProcess.predict_std before fit")
        _, std = self.model.predict(np.asarray(X, dtype=np.float64), return_std=True)
        return std
