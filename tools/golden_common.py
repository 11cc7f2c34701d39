"""Helpers the golden-data scripts in tools/ share (they run as `tools/NAME.py`, so this folder is on sys.path)."""
import hashlib
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def file_sha256(path):
    """The hex SHA-256 of a file, read in 1 MiB blocks (models are hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def peer_tool(bindir, name):
    """The path of llama.cpp's tool `name` in bindir (default: scripts/setup-reference --print-bin-dir); exits
    with a hint when it is missing."""
    bindir = bindir or subprocess.check_output([str(ROOT / "scripts" / "setup-reference"), "--print-bin-dir"],
                                               text=True).strip()
    exe = pathlib.Path(bindir) / name
    if not exe.exists():
        sys.exit(f"{exe} missing: run scripts/setup-reference")
    return exe
