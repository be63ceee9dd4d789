"""safetensors.torch stand-in: load_file / save_file / load / save on local files."""

import torch

from . import _array, _read, _serialize, safe_open  # noqa: F401


def load_file(filename, device="cpu"):
    header, _, data = _read(filename)
    return {k: torch.from_numpy(_array(v, data)).to(device) for k, v in header.items()}


def _numpy(tensors):
    out = {}
    for k, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            raise ValueError("this stand-in does not write bfloat16")
        out[k] = t.numpy()
    return out


def save(tensors, metadata=None):
    return _serialize(_numpy(tensors), metadata)


def save_file(tensors, filename, metadata=None):
    with open(filename, "wb") as f:
        f.write(save(tensors, metadata))


def load(data):
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
        f.write(data)
        f.flush()
        return load_file(f.name)


def storage_ptr(tensor):
    return tensor.untyped_storage().data_ptr() if hasattr(tensor, "untyped_storage") else tensor.storage().data_ptr()


def storage_size(tensor):
    return tensor.untyped_storage().nbytes() if hasattr(tensor, "untyped_storage") else tensor.storage().size() * tensor.element_size()
