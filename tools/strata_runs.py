"""What the tools/ scripts share: running a strata command with its output logged, reading its JSON."""
import json
import subprocess
import time


def run(cmd, log_path):
    """Runs cmd with its output appended to log_path; returns the wall time in seconds."""
    print("$ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    with open(log_path, "a") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - start


def read_json(path):
    with open(path) as f:
        return json.load(f)
