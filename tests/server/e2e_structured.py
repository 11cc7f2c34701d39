"""Structured output end to end: the official openai and ollama clients against `hearth serve` with the
Qwen2.5-Coder-0.5B fixture model, every answer checked by an independent validator (Python `jsonschema`,
Draft 2020-12 with its format checker), not by our own grammar code.

The property: whatever the model samples (temperature 1, a different seed per request), an answer that ends with
finish_reason "stop" is a JSON document valid against the request's schema, and every answer here must end so
(the schemas bound their strings and arrays, and max_tokens leaves room). Sixteen requests over sixteen schemas run
eight at a time, so the constrained decoders share batched passes and must not disturb each other; half of them
stream; eight of the schemas are random (seeded; HEARTH_SCHEMA_SEED picks another set). Greedy answers are
the same eight at a time as one by one. Then: json_object mode, Ollama `format` (a schema and "json"), a GBNF
`grammar`, and the errors (400 naming the field) for what the converter cannot honour.
With HEARTH_E2E_LIGHT=1 (the sanitizer run): 8 requests over 4 + 4 schemas, and no alone-vs-together rerun.
Usage: e2e_structured.py HEARTH_BIN"""
import concurrent.futures
import json
import os
import random
import sys
import time

import httpx
import jsonschema
import ollama
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hearth_server import MODELS, check, expect_400, run_steps  # noqa: E402

HEARTH = sys.argv[1]
QWEN = os.path.join(MODELS, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
# Under the sanitizers (scripts/test sets it) the model runs ~4x slower: half the property requests, still 8 at a
# time, and no one-by-one rerun.
LIGHT = os.environ.get("HEARTH_E2E_LIGHT") == "1"

NAME = {"type": "string", "minLength": 1, "maxLength": 24}
SCHEMAS = [
    ("a fictional programmer", {
        "type": "object", "additionalProperties": False, "required": ["name", "age", "languages"],
        "properties": {"name": NAME, "age": {"type": "integer", "minimum": 18, "maximum": 99},
                       "languages": {"type": "array", "minItems": 1, "maxItems": 3,
                                     "items": {"enum": ["python", "c++", "rust", "go", "zig"]}}}}),
    ("a point on a map with a label", {
        "type": "object", "required": ["point", "label"], "additionalProperties": False,
        "properties": {"point": {"type": "object", "required": ["x", "y"], "additionalProperties": False,
                                 "properties": {"x": {"type": "number", "minimum": -180, "maximum": 180},
                                                "y": {"type": "number", "exclusiveMinimum": -90,
                                                      "exclusiveMaximum": 90}}},
                       "label": {"enum": ["home", "work", "other"]}}}),
    ("a meeting on a calendar", {
        "type": "object", "required": ["title", "date", "start"], "additionalProperties": False,
        "properties": {"title": NAME, "date": {"type": "string", "format": "date"},
                       "start": {"type": "string", "format": "time"},
                       "id": {"type": "string", "format": "uuid"}}}),
    ("a product code", {
        "type": "object", "required": ["code", "price"], "additionalProperties": False,
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
                       "price": {"type": "integer", "exclusiveMinimum": 0, "maximum": 10000},
                       "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 10}}}}),
    ("a shape (a circle or a square)", {
        "oneOf": [
            {"type": "object", "required": ["kind", "radius"], "additionalProperties": False,
             "properties": {"kind": {"const": "circle"}, "radius": {"type": "integer", "minimum": 1, "maximum": 50}}},
            {"type": "object", "required": ["kind", "side"], "additionalProperties": False,
             "properties": {"kind": {"const": "square"}, "side": {"type": "integer", "minimum": 1, "maximum": 50}}}]}),
    ("a to-do list", {
        "$defs": {"item": {"type": "object", "required": ["task", "done"], "additionalProperties": False,
                           "properties": {"task": NAME, "done": {"type": "boolean"},
                                          "note": {"type": ["string", "null"], "maxLength": 16}}}},
        "type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/item"}}),
    ("a setting's value", {
        "type": "object", "required": ["key", "value"], "additionalProperties": False,
        "properties": {"key": {"type": "string", "pattern": "^[a-z_]{1,12}$"},
                       "value": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 9},
                                           {"type": "string", "maxLength": 8}, {"type": "boolean"}]}}}),
    ("a contact card", {
        "type": "object", "required": ["name", "email"], "additionalProperties": False,
        "properties": {"name": NAME, "email": {"type": "string", "format": "email"},
                       "phone": {"type": "string", "pattern": "^\\+[0-9]{6,12}$"}}}),
]


def random_schema(rng, depth=0):
    """A random schema from the features the converter supports, bounded so an answer fits in max_tokens."""
    kinds = ["string", "integer", "number", "boolean", "enum", "const", "nullable", "pattern", "format"]
    if depth < 2:
        kinds += ["array", "object", "anyOf"]
    k = rng.choice(kinds)
    if k == "string":
        return {"type": "string", "minLength": rng.randint(0, 3), "maxLength": rng.randint(4, 12)}
    if k == "integer":
        lo = rng.randint(-100, 50)
        return {"type": "integer", "minimum": lo, "maximum": lo + rng.randint(0, 200)}
    if k == "number":
        return {"type": "number", "minimum": rng.randint(-1000, 0), "maximum": rng.randint(1, 1000)}
    if k == "boolean":
        return {"type": "boolean"}
    if k == "enum":
        return {"enum": rng.sample(["red", "green", "blue", 1, 2, True, None, "a b"], 3)}
    if k == "const":
        return {"const": rng.choice(["v1", 7, False])}
    if k == "nullable":
        return {"type": ["string", "null"], "maxLength": 8}
    if k == "pattern":
        return {"type": "string", "pattern": rng.choice(["^[a-z]{2,6}$", "^[0-9]{3}-[0-9]{2}$", "^(yes|no)$"])}
    if k == "format":
        return {"type": "string", "format": rng.choice(["date", "time", "date-time", "uuid", "email"])}
    if k == "array":
        lo = rng.randint(0, 2)
        return {"type": "array", "items": random_schema(rng, depth + 1), "minItems": lo, "maxItems": lo + rng.randint(0, 2)}
    if k == "anyOf":
        return {"anyOf": [random_schema(rng, depth + 1), random_schema(rng, depth + 1)]}
    return random_object(rng, depth + 1)


def random_object(rng, depth=0):
    names = rng.sample(["id", "title", "score", "tags", "owner", "when", "ok", "kind", "size", "note"], rng.randint(1, 4))
    return {"type": "object", "additionalProperties": False,
            "properties": {n: random_schema(rng, depth) for n in names},
            "required": [n for n in names if rng.random() < 0.7]}


def validate(doc_text, schema):
    """None if doc_text is a JSON document valid against schema, else why not."""
    try:
        doc = json.loads(doc_text)
    except ValueError as e:
        return f"not JSON ({e})"
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errs = [e.message for e in v.iter_errors(doc)]
    return "; ".join(errs) if errs else None


def one_request(c, k, what, schema, temperature=1.0):
    try:
        return request(c, k, what, schema, temperature)
    except Exception as e:  # noqa: BLE001 -- reported as a failure of this request
        return what, schema, f"request failed: {e}", None, bool(k % 2)


def request(c, k, what, schema, temperature):
    kw = dict(model=QWEN, messages=[{"role": "user", "content": f"Describe {what} as JSON."}],
              response_format={"type": "json_schema", "json_schema": {"name": "doc", "schema": schema, "strict": True}},
              temperature=temperature, seed=1000 + k, max_tokens=400)
    if k % 2:
        chunks = list(c.chat.completions.create(stream=True, **kw))
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
        finish = finish[-1] if finish else None
    else:
        r = c.chat.completions.create(**kw)
        text, finish = r.choices[0].message.content, r.choices[0].finish_reason
    return what, schema, text, finish, bool(k % 2)


def run_property(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=600)
    seed = int(os.environ.get("HEARTH_SCHEMA_SEED", "20261205"))
    rng = random.Random(seed)
    n = 4 if LIGHT else 8
    cases = [SCHEMAS[k] for k in range(n)]
    cases += [(f"a random record #{k} (seed {seed})", random_object(rng)) for k in range(n)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda k: one_request(c, k, *cases[k]), range(len(cases))))
    for what, schema, text, finish, stream in results:
        label = f"{what} (stream={stream})"
        check(finish == "stop", f"{label}: finished ({finish})")
        why = validate(text or "", schema)
        check(why is None, f"{label}: valid against its schema: {text!r}" + (f" -- {why}" if why else "")
              + ("" if why is None else f" schema {json.dumps(schema)}"))
    # Properties come out in the declared order (the schema's key order, kept from the request body).
    first = json.loads(results[0][2] or "{}")
    check(list(first)[:3] == ["name", "age", "languages"], f"declared property order: {list(first)}")


def run_greedy_alone_and_together(srv):
    """Greedy constrained answers are the same run eight at a time (sharing batched passes) as one by one."""
    if LIGHT:
        print("skipped under sanitizers (HEARTH_E2E_LIGHT): greedy alone vs together")
        return
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=600)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda k: one_request(c, 2 * k, *SCHEMAS[k], temperature=0), range(len(SCHEMAS))))
    alone = [one_request(c, 2 * k, *SCHEMAS[k], temperature=0) for k in range(len(SCHEMAS))]
    for (what, _, t, _, _), (_, _, a, _, _) in zip(together, alone):
        check(t == a, f"greedy {what}: the same together and alone: {t!r} vs {a!r}")


def run_modes(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=300)
    r = c.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "Tell me about Paris in JSON."}],
                                  response_format={"type": "json_object"}, temperature=0, max_tokens=200)
    text = r.choices[0].message.content
    if r.choices[0].finish_reason == "stop":
        check(isinstance(json.loads(text), dict), f"json_object: a JSON object: {text!r}")
    else:
        check(text.lstrip().startswith("{"), f"json_object cut by max_tokens still starts an object: {text!r}")
    # llama.cpp's `grammar` field (GBNF).
    r = c.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "Is the sky green?"}],
                                  extra_body={"grammar": 'root ::= ("yes" | "no") "."'}, temperature=1.0, seed=3,
                                  max_tokens=10)
    check(r.choices[0].message.content in ("yes.", "no.") and r.choices[0].finish_reason == "stop",
          f"grammar: {r.choices[0].message.content!r} ({r.choices[0].finish_reason})")
    # The same on the legacy completions endpoint.
    r = c.completions.create(model=QWEN, prompt="The sky is", extra_body={"grammar": 'root ::= " blue" | " green"'},
                             max_tokens=5, temperature=0)
    check(r.choices[0].text in (" blue", " green"), f"completions grammar: {r.choices[0].text!r}")

    o = ollama.Client(host=srv.base, timeout=300)
    what, schema = SCHEMAS[0]
    r = o.chat(model=QWEN, messages=[{"role": "user", "content": f"Describe {what}."}], format=schema,
               options={"temperature": 1.0, "seed": 7, "num_predict": 400})
    check(r.done_reason == "stop" and validate(r.message.content, schema) is None,
          f"ollama format=schema: {r.message.content!r}")
    r = o.generate(model=QWEN, prompt="List three colours as JSON.", format="json",
                   options={"temperature": 0, "num_predict": 200})
    check(r.done_reason != "stop" or isinstance(json.loads(r.response), dict), f"ollama format=json: {r.response!r}")

    # What the converter cannot honour: a 400 naming the field, never a silently unconstrained answer.
    msgs = [{"role": "user", "content": "hi"}]
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=msgs, response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "integer", "multipleOf": 3}}}),
        "response_format.json_schema.schema", "multipleOf")
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=msgs, response_format={"type": "yaml"}),
               "response_format.type", "an unknown response_format type")
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=msgs, response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": {}, "extra": 1}}),
        "response_format.json_schema.extra", "an unknown json_schema field")
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=msgs, extra_body={"grammar": "root ::= ("}),
               "grammar", "a GBNF syntax error")
    # Hostile schemas and grammars: a 400 in bounded time, never a hang (the limits are in grammar/).
    hostile = [({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
                    "type": "string", "pattern": "a" * 1_100_000}}}}, "response_format.json_schema.schema",
                "a 1.1 MB pattern"),
               ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
                   "enum": [f"v{i}" for i in range(20000)]}}}}, "response_format.json_schema.schema", "a 20000-value enum"),
               ({"grammar": 'root ::= root "a" | "a"'}, "grammar", "left recursion"),
               ({"json_schema": {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}}, "json_schema",
                "a $ref cycle")]
    for extra, field, what in hostile:
        t0 = time.time()
        expect_400(lambda: c.chat.completions.create(model=QWEN, messages=msgs, max_tokens=4, extra_body=extra),
                   field, what)
        check(time.time() - t0 < 10, f"{what}: refused in {time.time() - t0:.2f} s")
    # (the ollama client itself refuses format "xml", so this one goes as raw HTTP)
    raw = httpx.post(srv.base + "/api/chat", json={"model": QWEN, "messages": msgs, "format": "xml"}, timeout=60)
    check(raw.status_code == 400 and "format" in raw.text, f"ollama format xml: 400 naming format ({raw.text})")
    expect_400(lambda: o.chat(model=QWEN, messages=msgs, format={"type": "object", "not": {}}), "format",
               "ollama format with `not`")


def main():
    run_steps(HEARTH, [QWEN], ["--allow-model-paths", "-t", "2", "--parallel", "8"], [run_property, run_greedy_alone_and_together, run_modes],
              prefix="hearth-structured-")


if __name__ == "__main__":
    main()
