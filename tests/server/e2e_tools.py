"""Tool calling and fill-in-the-middle end to end: the official openai and ollama clients against `hearth serve` with the
Qwen2.5-Coder-0.5B fixture model (its template teaches the Hermes <tool_call> syntax), streaming and not.

The model's answers are greedy and the kernels batch-invariant, so its first call is reproducible: asked for
the weather in Paris with a get_weather tool, it calls get_weather(city="Paris").
With --mission (HEARTH_MISSION_TESTS=1, `scripts/test --mission`): the agent loop on the mission model,
Qwen2.5-Coder-1.5B: two tools offered, the model calls get_weather, the client returns the result, the model
answers from it. Without HEARTH_MISSION_TESTS that run reports itself skipped (exit 77).
With HEARTH_E2E_LIGHT=1 (the sanitizer run): tool_choice required and named are sent once each (required not
streamed, named streamed) instead of both ways each; the code paths are the same.
Usage: e2e_tools.py HEARTH_BIN [--mission]"""
import json
import os
import sys
import tempfile
import shutil

import httpx
import ollama
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hearth_server import FAILURES, MODELS, check, expect_400, run_steps, Server  # noqa: E402

HEARTH = sys.argv[1]
LIGHT = os.environ.get("HEARTH_E2E_LIGHT") == "1"
QWEN = os.path.join(MODELS, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
SMOL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
ASK = [{"role": "user", "content": "What is the weather in Paris right now?"}]


def run_openai(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=300)
    r = c.chat.completions.create(model=QWEN, messages=ASK, tools=TOOLS, temperature=0, max_tokens=64)
    ch = r.choices[0]
    check(ch.finish_reason == "tool_calls", f"finish_reason tool_calls (got {ch.finish_reason})")
    calls = ch.message.tool_calls or []
    check(len(calls) == 1 and calls[0].type == "function" and calls[0].function.name == "get_weather",
          f"one get_weather call: {calls}")
    check(calls and json.loads(calls[0].function.arguments) == {"city": "Paris"}, "arguments {city: Paris}")
    check(calls and calls[0].id.startswith("call_"), "call id")
    check(not ch.message.content, "no text besides the call")

    # Streaming: the same call, in tool_call deltas, then finish_reason tool_calls.
    chunks = list(c.chat.completions.create(model=QWEN, messages=ASK, tools=TOOLS, temperature=0, max_tokens=64,
                                            stream=True))
    deltas = [d for k in chunks if k.choices for d in (k.choices[0].delta.tool_calls or [])]
    check(len(deltas) == 1 and deltas[0].function.name == "get_weather" and deltas[0].index == 0,
          f"streamed tool_call delta: {deltas}")
    check(deltas and json.loads(deltas[0].function.arguments) == {"city": "Paris"}, "streamed arguments")
    check(chunks[-1].choices[0].finish_reason == "tool_calls", "streamed finish_reason tool_calls")
    check("".join(k.choices[0].delta.content or "" for k in chunks if k.choices) == "", "no streamed text")

    # The loop goes on: the call and its result in the history (rendered by the model's template).
    history = ASK + [ch.message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": calls[0].id if calls else "x",
                      "content": json.dumps({"temp_c": 18, "sky": "sunny"})}]
    r2 = c.chat.completions.create(model=QWEN, messages=history, tools=TOOLS, temperature=0, max_tokens=24)
    check(r2.choices[0].finish_reason in ("stop", "length", "tool_calls"), "a tool result in the history: answered")

    # tool_choice none: the model is not told of the tools and answers in text.
    r3 = c.chat.completions.create(model=QWEN, messages=ASK, tools=TOOLS, tool_choice="none", temperature=0,
                                   max_tokens=16)
    check(not r3.choices[0].message.tool_calls and r3.choices[0].message.content, "tool_choice none: text")
    # What is not honoured is refused, naming the field.
    # tool_choice required / named: the answer is constrained to a call (constrained decoding), even when the
    # question asks for none; the arguments are valid against the tool's parameters.
    tools2 = TOOLS + [{"type": "function", "function": {
        "name": "add", "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                       "required": ["a", "b"], "additionalProperties": False}}}]
    hello = [{"role": "user", "content": "Hello! How are you?"}]
    for choice, names in (("required", {"get_weather", "add"}),
                          ({"type": "function", "function": {"name": "add"}}, {"add"})):
        for stream in ((choice != "required",) if LIGHT else (False, True)):
            kw = dict(model=QWEN, messages=hello, tools=tools2, tool_choice=choice, temperature=0, max_tokens=64)
            if stream:
                chunks = list(c.chat.completions.create(stream=True, **kw))
                got = [(d.function.name, d.function.arguments)
                       for k in chunks if k.choices for d in (k.choices[0].delta.tool_calls or [])]
                finish = chunks[-1].choices[0].finish_reason
            else:
                m = c.chat.completions.create(**kw).choices[0]
                got = [(t.function.name, t.function.arguments) for t in (m.message.tool_calls or [])]
                finish = m.finish_reason
            what = f"tool_choice {choice} (stream={stream})"
            check(finish == "tool_calls" and len(got) >= 1, f"{what}: a call ({finish}, {got})")
            for name, args in got:
                check(name in names, f"{what}: calls one of {names} (got {name})")
                a = json.loads(args)
                if name == "add":
                    check(set(a) == {"a", "b"} and all(isinstance(a[k], int) for k in a), f"{what}: add args {a}")
                else:
                    check(isinstance(a.get("city"), str), f"{what}: get_weather args {a}")
    # Thinking asked of a model without a thinking mode: refused, naming it (the OpenAI client's own field).
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=ASK, reasoning_effort="medium", max_tokens=4),
               "thinking mode", "reasoning_effort on a model that does not think")
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=ASK, tools=TOOLS, tool_choice="required",
                                                 response_format={"type": "json_object"}),
               "response_format", "tool_choice required with a response_format")
    expect_400(lambda: c.chat.completions.create(model=SMOL, messages=ASK, tools=TOOLS), "tools",
               "a model whose template has no tool syntax")
    expect_400(lambda: c.chat.completions.create(model=QWEN, messages=ASK, tools=[{"type": "retrieval"}]),
               "tools[0]", "a tool that is not a function")
    expect_400(lambda: c.chat.completions.create(
        model=QWEN, messages=ASK, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice", "tool_choice naming an unknown function")


def run_fill_in_the_middle(srv):
    # Editors' autocomplete: the code before and after the cursor; the model writes the middle.
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=300)
    r = c.completions.create(model=QWEN, prompt="def add(a, b):\n    ", suffix="\n\nprint(add(2, 3))\n",
                             max_tokens=8, temperature=0)
    check(r.choices[0].text.startswith("return a + b"), f"FIM (openai suffix): {r.choices[0].text!r}")
    o = ollama.Client(host=srv.base, timeout=300).generate(
        model=QWEN, prompt="def add(a, b):\n    ", suffix="\n\nprint(add(2, 3))\n",
        options={"temperature": 0, "num_predict": 8})
    check(o.response == r.choices[0].text, f"FIM (ollama suffix) gives the same middle: {o.response!r}")
    expect_400(lambda: c.completions.create(model=SMOL, prompt="x", suffix="y", max_tokens=2), "suffix",
               "FIM with a model without FIM tokens")

    # llama.cpp's /infill (llama.vim, llama.vscode): the same middle for the same prefix and suffix, streamed and
    # not; other files of the project (input_extra) reach the model (it imports the function one of them defines).
    infill = {"model": QWEN, "input_prefix": "def add(a, b):\n    ", "input_suffix": "\n\nprint(add(2, 3))\n",
              "n_predict": 8, "temperature": 0}
    j = httpx.post(srv.base + "/infill", json=infill, timeout=300).json()
    check(j.get("content") == r.choices[0].text and j.get("stop") is True and j.get("tokens_predicted") == 8 and
          j.get("stop_type") == "limit", f"/infill: the same middle as suffix FIM: {j}")
    with httpx.stream("POST", srv.base + "/infill", json={**infill, "stream": True}, timeout=300) as resp:
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: ")]
    check("".join(e.get("content", "") for e in events) == r.choices[0].text and events and events[-1]["stop"],
          f"/infill streamed: {events}")
    extra = {"model": QWEN, "input_prefix": "from helpers import ", "input_suffix": "\n", "n_predict": 4,
             "temperature": 0, "input_extra": [{"filename": "helpers.py",
                                                "text": "def parse_invoice_number(s):\n    return int(s[3:])\n"}]}
    j = httpx.post(srv.base + "/infill", json=extra, timeout=300).json()
    check(j.get("content", "").startswith("parse_invoice"), f"/infill input_extra is context: {j.get('content')!r}")
    for body, field in (({**infill, "n_indent": 4}, "n_indent"), ({"model": QWEN, "input_suffix": ""}, "input_prefix"),
                        ({**infill, "model": SMOL}, "suffix"), ({**extra, "model": SMOL}, "suffix")):
        resp = httpx.post(srv.base + "/infill", json=body, timeout=300)
        check(resp.status_code == 400 and field in resp.text, f"/infill refuses ({field}): {resp.text}")


def run_ollama(srv):
    c = ollama.Client(host=srv.base, timeout=300)
    r = c.chat(model=QWEN, messages=ASK, tools=TOOLS, options={"temperature": 0, "num_predict": 64})
    calls = r.message.tool_calls or []
    check(len(calls) == 1 and calls[0].function.name == "get_weather" and
          dict(calls[0].function.arguments) == {"city": "Paris"}, f"ollama: one get_weather call: {calls}")
    streamed = [t for k in c.chat(model=QWEN, messages=ASK, tools=TOOLS, options={"temperature": 0,
                                                                                 "num_predict": 64}, stream=True)
                for t in (k.message.tool_calls or [])]
    check(len(streamed) == 1 and streamed[0].function.name == "get_weather", f"ollama: streamed call {streamed}")
    history = ASK + [r.message, {"role": "tool", "content": "18 C, sunny", "tool_name": "get_weather"}]
    r2 = c.chat(model=QWEN, messages=history, tools=TOOLS, options={"temperature": 0, "num_predict": 24})
    check(r2.done, "ollama: a tool result in the history: answered")
    g = httpx.post(srv.base + "/api/generate", json={"model": QWEN, "prompt": "x", "tools": TOOLS}, timeout=60)
    check(g.status_code == 400 and "tools" in g.text, f"ollama: tools on /api/generate refused: {g.text}")
    # think: false is what a model without a thinking mode does anyway; true is refused, naming it.
    r3 = c.chat(model=QWEN, messages=ASK, think=False, options={"temperature": 0, "num_predict": 4})
    check(r3.done and not r3.message.thinking, "ollama: think=false on a model that does not think: answered")
    expect_400(lambda: c.chat(model=QWEN, messages=ASK, think=True, options={"num_predict": 4}), "think",
               "ollama: think=true on a model that does not think")

MISSION = os.path.join(MODELS, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")


def run_agent_loop(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=600)
    tools = TOOLS + [{"type": "function", "function": {
        "name": "add", "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}}}]
    msgs = [{"role": "system", "content": "You are a helpful assistant. Call a tool when you need one; once you "
                                          "have the tool's result, answer the user in one short sentence."}] + ASK
    r = c.chat.completions.create(model=MISSION, messages=msgs, tools=tools, temperature=0, max_tokens=100)
    calls = r.choices[0].message.tool_calls or []
    check(len(calls) == 1 and calls[0].function.name == "get_weather" and
          json.loads(calls[0].function.arguments) == {"city": "Paris"}, f"1.5B calls get_weather(Paris): {calls}")
    if not calls:
        return
    msgs += [r.choices[0].message.model_dump(exclude_none=True),
             {"role": "tool", "tool_call_id": calls[0].id, "content": json.dumps({"temperature_c": 18, "sky": "sunny"})}]
    r2 = c.chat.completions.create(model=MISSION, messages=msgs, tools=tools, temperature=0, max_tokens=60)
    text = r2.choices[0].message.content or ""
    check(r2.choices[0].finish_reason == "stop" and not r2.choices[0].message.tool_calls, "1.5B answers in text")
    check("18" in text and "sunny" in text.lower(), f"1.5B answers from the tool's result: {text!r}")


def main():
    if "--mission" in sys.argv:
        if os.environ.get("HEARTH_MISSION_TESTS") != "1":
            print("skipped: set HEARTH_MISSION_TESTS=1 (scripts/test --mission)")
            sys.exit(77)
        home = tempfile.mkdtemp(prefix="hearth-tools-")
        srv = Server(HEARTH, home, "--allow-model-paths")
        try:
            run_agent_loop(srv)
        finally:
            srv.stop()
            shutil.rmtree(home, ignore_errors=True)
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1 if FAILURES else 0)
    run_steps(HEARTH, [QWEN, SMOL], ["--allow-model-paths", "-t", "1", "--parallel", "2"],
              [run_openai, run_ollama, run_fill_in_the_middle], prefix="hearth-tools-")


if __name__ == "__main__":
    main()
