"""Runs Drain3 (PyPI `drain3`) on lines read from stdin and prints its clusters as JSON.

Usage: drain3_clusters.py '<settings JSON>' < lines
Settings are StackLens' DrainSettings (processors/patterns/drain.ts), mapped onto Drain3's
TemplateMinerConfig; persistence is off. Lines are separated by '\n' only (Python's splitlines
would also split on \x1c, \x85, ... which StackLens keeps inside a line).
Output: {"clusters": [{"id", "template", "size"}], "line_clusters": [id per line], "seconds": mining time}.
"""
import json
import sys
import time

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig


def main() -> None:
    settings = json.loads(sys.argv[1])
    config = TemplateMinerConfig()
    config.drain_depth = settings["depth"]
    config.drain_sim_th = settings["simTh"]
    config.drain_max_children = settings["maxChildren"]
    config.drain_max_clusters = settings["maxClusters"]
    config.drain_extra_delimiters = settings["extraDelimiters"]
    config.parametrize_numeric_tokens = settings["parametrizeNumericTokens"]
    config.masking_instructions = [MaskingInstruction(m["pattern"], m["maskWith"]) for m in settings["masks"]]
    config.mask_prefix = "<"
    config.mask_suffix = ">"
    miner = TemplateMiner(persistence_handler=None, config=config)

    text = sys.stdin.buffer.read().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    line_clusters = []
    started = time.perf_counter()
    for line in lines:
        line_clusters.append(miner.add_log_message(line)["cluster_id"])
    seconds = time.perf_counter() - started
    clusters = [
        {"id": c.cluster_id, "template": c.get_template(), "size": c.size}
        for c in sorted(miner.drain.clusters, key=lambda c: c.cluster_id)
    ]
    json.dump({"clusters": clusters, "line_clusters": line_clusters, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
