"""Placeholder packages for the libraries diffusers and PEFT import but never use on local files (the Hugging Face
hub client, transformers, accelerate). `install(name)` makes `name` and every `name.sub.module` importable; each
attribute is a placeholder: `*Error` an exception class, `is_*_available` a function returning False, a
capitalised name an empty class (so isinstance checks and subclassing work), anything else a function that raises
if it is ever called. Nothing here reaches the network."""

import contextlib
import importlib.abc
import importlib.machinery
import re
import sys
import types

CONSTANTS = {
    "HF_HUB_OFFLINE": True,
    "HF_HUB_DISABLE_TELEMETRY": True,
    "HF_HOME": "/nonexistent-hf-home",
    "REGEX_COMMIT_HASH": re.compile(r"^[0-9a-f]{40}$"),
}
IDENTITY_DECORATORS = {"validate_hf_hub_args"}
CONTEXT_MANAGERS = {"init_empty_weights"}


class Unavailable(Exception):
    pass


def placeholder(module, name):
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in IDENTITY_DECORATORS:
        return lambda fn: fn
    if name in CONTEXT_MANAGERS:
        return lambda *a, **k: contextlib.nullcontext()
    if name.endswith("Error") or name.endswith("Enabled"):
        return type(name, (Unavailable,), {})
    if re.fullmatch(r"is_\w+_available", name):
        return lambda *a, **k: False
    if name.isupper():
        return ""
    if name[:1].isupper():
        return type(name, (), {"__module__": module})

    def unavailable(*args, **kwargs):
        raise Unavailable(f"{module}.{name}: a local placeholder (see test/models/diffusers/gen/README.md) was called")

    return unavailable


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = placeholder(self.__name__, name)
        setattr(self, name, value)
        return value


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, root):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(self.root + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Module(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def install(root, version):
    """Called from the package `root`'s __init__: sub-modules resolve through the finder."""
    sys.meta_path.insert(0, _Finder(root))
    pkg = sys.modules[root]
    pkg.__class__ = _Module
    pkg.__version__ = version
