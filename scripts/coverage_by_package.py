"""Print coverage per top-level package of switchboard (statements + branches, the way
``coverage report`` counts them) from the JSON report that ``coverage json`` wrote.

    coverage json -q --fail-under=0 -o cov.json && python scripts/coverage_by_package.py cov.json
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import PurePosixPath


def package_of(filename: str) -> str:
    parts = PurePosixPath(filename.replace("\\", "/")).parts
    inner = parts[parts.index("switchboard") + 1 :] if "switchboard" in parts else parts
    if len(inner) > 1:
        return inner[0] + "/"
    return inner[0] if inner else filename


def main(path: str) -> None:
    data = json.loads(open(path, encoding="utf-8").read())
    hit: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for filename, info in data["files"].items():
        s = info["summary"]
        pkg = package_of(filename)
        hit[pkg] += s["covered_lines"] + s.get("covered_branches", 0)
        total[pkg] += s["num_statements"] + s.get("num_branches", 0)
    print(f"{'package':22} {'covered':>8} {'of':>7} {'%':>6}")
    for pkg in sorted(total, key=lambda p: (not p.endswith("/"), p)):
        pct = 100.0 * hit[pkg] / total[pkg] if total[pkg] else 100.0
        print(f"{pkg:22} {hit[pkg]:8d} {total[pkg]:7d} {pct:6.1f}")
    all_hit, all_total = sum(hit.values()), sum(total.values())
    print(f"{'TOTAL':22} {all_hit:8d} {all_total:7d} {100.0 * all_hit / all_total:6.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
