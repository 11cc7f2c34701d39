"""Convert a sentence-transformers BERT checkpoint (safetensors + tokenizer.json) to GGUF, as llama.cpp's
convert_hf_to_gguf.py (conversion/bert.py, `--outtype f16`) writes it, with the Python standard library only
(scripts/fetch-models runs on a bare interpreter: no numpy, torch or gguf package).

What llama.cpp's converter does and this copies:
  * keys: general.architecture "bert", bert.{context_length, embedding_length, feed_forward_length, block_count,
    attention.head_count, attention.layer_norm_epsilon, attention.causal = false, pooling_type} (pooling from
    the sentence-transformers Pooling module's config: mean 1, cls 2, lasttoken 3);
  * tokenizer: model "bert", the WordPiece vocabulary in "phantom space" form (a word-initial piece gets a
    leading U+2581, a "##" continuation loses its "##", control tokens stay as they are), token types (CONTROL
    for the special tokens [PAD] [UNK] [CLS] [SEP] [MASK], NORMAL otherwise), the special token ids,
    token_type_count;
  * tensors: 2-D weights F16 (round to nearest even), 1-D tensors and position/token-type embeddings F32; the
    pooler and position_ids dropped. Names follow gguf-py's tensor map for BERT.
The output is deterministic (same input bytes -> same file), so fetch-models can pin its sha256.

GGUF v3 byte layout (gguf.h is the spec): "GGUF", u32 version, u64 n_tensors, u64 n_kv, the key/values, the
tensor infos (name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset), padding to 32, the tensor data (each
tensor's offset a multiple of 32).
"""
import array
import json
import struct

GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STR, GGUF_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3
ALIGN = 32


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _kv(key, vtype, value):
    out = _str(key) + struct.pack("<I", vtype)
    if vtype == GGUF_U32:
        return out + struct.pack("<I", value)
    if vtype == GGUF_I32:
        return out + struct.pack("<i", value)
    if vtype == GGUF_F32:
        return out + struct.pack("<f", value)
    if vtype == GGUF_BOOL:
        return out + struct.pack("<?", value)
    if vtype == GGUF_STR:
        return out + _str(value)
    elem, items = value
    out += struct.pack("<IQ", elem, len(items))
    if elem == GGUF_STR:
        return out + b"".join(_str(s) for s in items)
    return out + array.array("i", items).tobytes()


def _read_safetensors(blob):
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], blob[base + b:base + e])
    return tensors


def _f32_bytes_to_f16(data):
    values = array.array("f")
    values.frombytes(data)
    return struct.pack(f"<{len(values)}e", *values)


def _tensor_map(n_layer):
    """(gguf name, safetensors name, keep f32) in the order the converter writes them."""
    m = [
        ("token_embd.weight", "embeddings.word_embeddings.weight", False),
        ("position_embd.weight", "embeddings.position_embeddings.weight", True),
        ("token_types.weight", "embeddings.token_type_embeddings.weight", True),
        ("token_embd_norm.weight", "embeddings.LayerNorm.weight", True),
        ("token_embd_norm.bias", "embeddings.LayerNorm.bias", True),
    ]
    for i in range(n_layer):
        p, h = f"blk.{i}.", f"encoder.layer.{i}."
        for gg, hf in (("attn_q", "attention.self.query"), ("attn_k", "attention.self.key"),
                       ("attn_v", "attention.self.value"), ("attn_output", "attention.output.dense"),
                       ("attn_output_norm", "attention.output.LayerNorm"), ("ffn_up", "intermediate.dense"),
                       ("ffn_down", "output.dense"), ("layer_output_norm", "output.LayerNorm")):
            m.append((p + gg + ".weight", h + hf + ".weight", gg.endswith("_norm")))
            m.append((p + gg + ".bias", h + hf + ".bias", True))
    return m


def _pooling_type(pooling_cfg):
    if pooling_cfg.get("pooling_mode_mean_tokens"):
        return 1
    if pooling_cfg.get("pooling_mode_cls_token"):
        return 2
    if pooling_cfg.get("pooling_mode_lasttoken"):
        return 3
    raise ValueError("unsupported sentence-transformers pooling mode")


def convert(files, name, out):
    """files: {relative path: bytes} of the checkpoint folder; writes the GGUF to the binary file `out`."""
    cfg = json.loads(files["config.json"])
    tok = json.loads(files["tokenizer.json"])
    pooling = json.loads(files["1_Pooling/config.json"])
    tensors = _read_safetensors(files["model.safetensors"])
    if cfg.get("model_type") != "bert" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("not a BERT checkpoint with absolute positions")
    if tok["model"]["type"] != "WordPiece":
        raise ValueError("tokenizer is not WordPiece")

    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    if [i for _, i in vocab] != list(range(len(vocab))):
        raise ValueError("vocabulary ids are not 0..n-1")
    special = {t["content"]: t["id"] for t in tok.get("added_tokens", []) if t.get("special")}
    tokens, types = [], []
    for text, i in vocab:
        if text in special:
            tokens.append(text)
            types.append(TOKEN_CONTROL)
        else:
            tokens.append(text[2:] if text.startswith("##") else "\u2581" + text)
            types.append(TOKEN_NORMAL)

    kvs = [
        ("general.architecture", GGUF_STR, "bert"),
        ("general.name", GGUF_STR, name),
        ("bert.block_count", GGUF_U32, cfg["num_hidden_layers"]),
        ("bert.context_length", GGUF_U32, cfg["max_position_embeddings"]),
        ("bert.embedding_length", GGUF_U32, cfg["hidden_size"]),
        ("bert.feed_forward_length", GGUF_U32, cfg["intermediate_size"]),
        ("bert.attention.head_count", GGUF_U32, cfg["num_attention_heads"]),
        ("bert.attention.layer_norm_epsilon", GGUF_F32, cfg["layer_norm_eps"]),
        ("general.file_type", GGUF_U32, 1),
        ("bert.attention.causal", GGUF_BOOL, False),
        ("bert.pooling_type", GGUF_U32, _pooling_type(pooling)),
        ("tokenizer.ggml.token_type_count", GGUF_U32, cfg.get("type_vocab_size", 1)),
        ("tokenizer.ggml.model", GGUF_STR, "bert"),
        ("tokenizer.ggml.pre", GGUF_STR, "bert-bge"),
        ("tokenizer.ggml.tokens", GGUF_ARR, (GGUF_STR, tokens)),
        ("tokenizer.ggml.token_type", GGUF_ARR, (GGUF_I32, types)),
    ]
    for key, text in (("unknown", "[UNK]"), ("seperator", "[SEP]"), ("padding", "[PAD]"), ("cls", "[CLS]"),
                      ("mask", "[MASK]")):
        if text in special:
            kvs.append((f"tokenizer.ggml.{key}_token_id", GGUF_U32, special[text]))

    infos, datas, offset = [], [], 0
    for gg, hf, keep_f32 in _tensor_map(cfg["num_hidden_layers"]):
        dtype, shape, data = tensors[hf]
        if dtype != "F32":
            raise ValueError(f"{hf}: expected F32, found {dtype}")
        f32 = keep_f32 or len(shape) == 1
        data = data if f32 else _f32_bytes_to_f16(data)
        ne = list(reversed(shape))
        infos.append(_str(gg) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) +
                     struct.pack("<IQ", GGML_F32 if f32 else GGML_F16, offset))
        pad = (-len(data)) % ALIGN
        datas.append(data + b"\0" * pad)
        offset += len(data) + pad

    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kvs))
    head += b"".join(_kv(*kv) for kv in kvs) + b"".join(infos)
    out.write(head + b"\0" * ((-len(head)) % ALIGN))
    for d in datas:
        out.write(d)
