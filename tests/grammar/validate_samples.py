#!/usr/bin/env python3
"""Validates random sentences of JSON Schema grammars with Python's jsonschema, an independent reference.

Runs grammar_schema_samples (the fixtures of tests/data/grammar/schemas.json plus random schemas, each with
random texts its grammar accepts) and checks that every text parses as JSON and validates against its schema
(the schema's draft from $schema, 2020-12 by default, with formats asserted), that the fixtures' valid and
narrowed instances validate and their invalid ones do not, and that every schema compiled.

Usage: validate_samples.py <grammar_schema_samples binary> <schemas.json> [n_random] [samples] [seed]
Needs jsonschema and rfc3339-validator (for the time and date-time formats), installed by scripts/setup.
"""
import json
import subprocess
import sys

try:
    import rfc3339_validator  # noqa: F401  (without it jsonschema silently skips time/date-time)
    from jsonschema import validators
except ImportError as e:
    sys.exit(f"validate_samples.py: {e}: run scripts/setup (pip install jsonschema rfc3339-validator)")


def main():
    tool, fixtures = sys.argv[1], sys.argv[2]
    n_random = sys.argv[3] if len(sys.argv) > 3 else "300"
    n_samples = sys.argv[4] if len(sys.argv) > 4 else "20"
    seed = sys.argv[5] if len(sys.argv) > 5 else "20251"
    out = subprocess.run([tool, fixtures, n_random, n_samples, seed], capture_output=True, text=True, check=True)
    failures = []
    n_schemas = n_texts = 0
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        name, schema = rec["name"], rec["schema"]
        if "error" in rec:
            failures.append(f"{name}: does not compile: {rec['error']}\n  schema: {json.dumps(schema)}")
            continue
        n_schemas += 1
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        cls.check_schema(schema)
        v = cls(schema, format_checker=cls.FORMAT_CHECKER)
        for text in rec["samples"]:
            n_texts += 1
            try:
                inst = json.loads(text)
            except ValueError as e:
                failures.append(f"{name}: not JSON ({e}): {ascii(text)}")
                continue
            errors = [e.message for e in v.iter_errors(inst)]
            if errors:
                failures.append(f"{name}: {ascii(text)} is invalid: {ascii(errors[0])}\n  schema: {json.dumps(schema)}")
        for inst in rec.get("valid", []) + rec.get("narrowed", []):
            if not v.is_valid(inst):
                failures.append(f"{name}: fixture instance {ascii(inst)} should be valid")
        for inst in rec.get("invalid", []):
            if v.is_valid(inst):
                failures.append(f"{name}: fixture instance {ascii(inst)} should be invalid")
    for f in failures[:40]:
        print(f)
    print(f"validate_samples: {n_schemas} schemas, {n_texts} texts, {len(failures)} failures")
    if n_texts < n_schemas * 5:
        print("validate_samples: too few texts: the random walks got stuck")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
