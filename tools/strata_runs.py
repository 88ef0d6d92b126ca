"""What the tools/ scripts share: running a strata command with its output logged, reading its JSON."""
import json
import math
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


def mean_std(values):
    """Mean and sample standard deviation (0 for a single value)."""
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, s


def command_block(cmds):
    """A Markdown sh block of the command lines, each shown as `strata ...` whatever binary ran it."""
    return ["## Commands", "", "```sh"] + [" ".join(["strata"] + c[1:]) for c in cmds] + ["```", ""]
