"""Register chemtl with transformers' Auto classes without importing transformers.

``import chemtl`` calls ``install_transformers_hook()``. Registration needs transformers' Auto
modules, whose import costs seconds and pulls torch, so it happens only when they are loaded
anyway. Each Auto module has its own registration, run right after that module has executed:

- ``configuration_auto`` -> ``AutoConfig.register("chemtl", ChemtlConfig)``
- ``tokenization_auto``  -> ``AutoTokenizer.register`` for the three tokenizer wrappers
- ``modeling_auto``      -> ``AutoModel`` / ``AutoModelForMaskedLM`` / ... registrations

Modules already imported are registered at once; for the others a ``sys.meta_path`` finder wraps
their real loader, lets it execute the module, then registers. When the Auto module loads while
one of the chemtl modules the registration needs is itself half-imported (chemtl's model code
imports transformers, which can load ``modeling_auto``), the registration waits: each of those
chemtl modules calls ``run_deferred()`` on its last line. A plain ``import transformers``
(which loads the Auto modules lazily) stays as cheap as it was. So after ``import chemtl``,
``AutoTokenizer.from_pretrained(dir)`` and ``AutoModel.from_pretrained(dir)`` work with no
``trust_remote_code``, whichever was imported first.

This module imports only the standard library.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from importlib.abc import Loader, MetaPathFinder

_AUTO = "transformers.models.auto."
_CONFIG = "chemtl.models.configuration"
_MODELS = ("chemtl.models.encoder", "chemtl.models.prediction", "chemtl.models.pretraining")
# target module -> ("module:function" registering chemtl with it, chemtl modules that function imports)
REGISTRATIONS = {
    _AUTO + "configuration_auto": (_CONFIG + ":register_auto_config", (_CONFIG,)),
    _AUTO + "tokenization_auto": ("chemtl._hf:register_auto_classes", ("chemtl._hf", _CONFIG)),
    _AUTO + "modeling_auto": ("chemtl.models:register_auto_classes", (_CONFIG, *_MODELS)),
}
_deferred: list[str] = []


def _half_imported(names: tuple[str, ...]) -> bool:
    for name in names:
        spec = getattr(sys.modules.get(name), "__spec__", None)
        if spec is not None and getattr(spec, "_initializing", False):
            return True
    return False


def run_deferred() -> None:
    """Run the registrations that waited for a chemtl module to finish importing."""
    for target in list(_deferred):
        if not _half_imported(REGISTRATIONS[target][1]):
            _deferred.remove(target)
            _register(target)


def _register(target: str) -> None:
    function_path, needs = REGISTRATIONS[target]
    if _half_imported(needs):
        if target not in _deferred:
            _deferred.append(target)
        return
    module_name, function = function_path.split(":")
    try:
        getattr(importlib.import_module(module_name), function)()
    except Exception as exc:  # a failed registration must not break the user's import of transformers
        warnings.warn(
            f"chemtl could not register with transformers ({target}): {exc!r}", RuntimeWarning, stacklevel=2
        )


class _RegisteringLoader(Loader):
    """Runs the real loader, puts it back on the module, then registers chemtl for that module."""

    def __init__(self, loader: Loader, target: str):
        self._loader = loader
        self._target = target

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader
        _register(self._target)


class _AutoModulesFinder(MetaPathFinder):
    """Finds nothing itself: wraps the loader that the other finders return for a target module."""

    def __init__(self, pending: set[str]):
        self.pending = pending

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader, fullname)
            self.pending.discard(fullname)
            if not self.pending and self in sys.meta_path:
                sys.meta_path.remove(self)
        return spec


def install_transformers_hook() -> None:
    """Register with the Auto modules already loaded, and with the others when they load.

    Idempotent; cheap (standard library only).
    """
    if any(isinstance(f, _AutoModulesFinder) for f in sys.meta_path):
        return
    pending = set()
    for target in REGISTRATIONS:  # dict order: config first, so the others find it registered
        if target in sys.modules:
            _register(target)
        else:
            pending.add(target)
    if pending:
        sys.meta_path.insert(0, _AutoModulesFinder(pending))
