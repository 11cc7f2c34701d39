"""Helpers the golden-data scripts in tools/ share (they run as `tools/NAME.py`, so this folder is on sys.path)."""
import hashlib


def file_sha256(path):
    """The hex SHA-256 of a file, read in 1 MiB blocks (models are hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
