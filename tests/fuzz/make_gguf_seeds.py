#!/usr/bin/env python3
"""Writes the GGUF fuzz seed corpus (tests/data/gguf/) with gguf-py, an implementation independent of
hearth's writer, so the seeds also check that hearth reads what the reference writes.

Usage: <python with gguf installed> tests/fuzz/make_gguf_seeds.py
(the hearth venv has it: /root/.cache/hearth/venv/bin/python). Each seed stays under 4 KB.
"""
import os
import sys

import numpy as np
import gguf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "gguf")


def write(name, build, alignment=None):
    path = os.path.join(OUT, name)
    w = gguf.GGUFWriter(path, arch="seed")
    if alignment:
        w.add_custom_alignment(alignment)
    build(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    size = os.path.getsize(path)
    assert size < 4096, f"{name} is {size} bytes"
    print(f"{name}: {size} bytes")


def every_type(w):
    w.add_uint8("v.u8", 250)
    w.add_int8("v.i8", -120)
    w.add_uint16("v.u16", 65000)
    w.add_int16("v.i16", -32000)
    w.add_uint32("v.u32", 4000000000)
    w.add_int32("v.i32", -2000000000)
    w.add_uint64("v.u64", 2**64 - 1)
    w.add_int64("v.i64", -(2**63))
    w.add_float32("v.f32", 1.5)
    w.add_float64("v.f64", -3.25)
    w.add_bool("v.bool", True)
    w.add_string("v.str", "h\u00e9llo \U0001f525")
    # add_string skips empty strings, so write this one through add_key_value. (gguf-py refuses empty
    # arrays altogether; hearth's round-trip test covers those.)
    w.add_key_value("v.empty", "", gguf.GGUFValueType.STRING)
    w.add_array("a.str", ["<s>", "", "\u2581the"])
    w.add_array("a.i32", [1, -2, 3])
    w.add_array("a.f32", [0.5, -1.0])
    w.add_array("a.nested", [[1, 2], ["x"]])
    w.add_tensor("t.f32", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("t.f16", np.ones((5,), dtype=np.float16))
    w.add_tensor("t.i8.4d", np.arange(16, dtype=np.int8).reshape(2, 2, 2, 2))


def quantized(w):
    w.add_uint32("seed.block_count", 1)
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    # One q8_0 row of 32 elements: 34 bytes (f16 scale + 32 int8), passed as raw bytes.
    raw = np.arange(34, dtype=np.uint8)
    w.add_tensor("blk.0.q8", raw, raw_shape=(1, 34), raw_dtype=gguf.GGMLQuantizationType.Q8_0)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("seed-every-type.gguf.bin", every_type)
    write("seed-q8-align64.gguf.bin", quantized, alignment=64)
    return 0


if __name__ == "__main__":
    sys.exit(main())
