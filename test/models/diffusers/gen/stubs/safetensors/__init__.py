"""A stand-in for the `safetensors` package, enough for diffusers to read and write local files.

The format: 8 bytes little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
{str: str}}, then the tensors' bytes. Only the dtypes model weights use are handled.
"""

import json
import struct

import numpy as np

__version__ = "0.4.5"

_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


class SafetensorError(Exception):
    pass


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    data = memoryview(raw)[8 + n :]
    return header, meta, data


def _array(info, data):
    dtype = info["dtype"]
    begin, end = info["data_offsets"]
    if dtype == "BF16":
        u16 = np.frombuffer(data[begin:end], dtype=np.uint16).astype(np.uint32) << 16
        return u16.view(np.float32).reshape(info["shape"])
    if dtype not in _NP:
        raise SafetensorError(f"dtype {dtype} is not handled by this stand-in")
    return np.frombuffer(data[begin:end], dtype=_NP[dtype]).reshape(info["shape"]).copy()


class safe_open:
    """`with safe_open(path, framework="pt") as f: f.keys(), f.get_tensor(k), f.metadata()`."""

    def __init__(self, filename, framework="pt", device="cpu"):
        self._framework = framework
        self._header, self._meta, self._data = _read(filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self._header.keys())

    def metadata(self):
        return self._meta

    def get_tensor(self, name):
        a = _array(self._header[name], self._data)
        if self._framework in ("pt", "torch"):
            import torch

            return torch.from_numpy(a)
        return a

    def get_slice(self, name):
        return self.get_tensor(name)


def _serialize(arrays, metadata=None):
    header = {}
    chunks = []
    offset = 0
    names = {np.dtype(v): k for k, v in _NP.items()}
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        b = a.tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)
