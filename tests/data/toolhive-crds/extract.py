"""Regenerate the schema files here from ToolHive's CRDs (see SOURCE.md):

    python extract.py /path/to/toolhive/deploy/charts/operator-crds/files/crds

Keeps, per kind, the served storage version's ``openAPIV3Schema`` as JSON.
"""

import json
import pathlib
import sys

from ruamel.yaml import YAML

KINDS = ("mcpservers", "mcpgroups", "virtualmcpservers", "mcptoolconfigs", "mcpoidcconfigs")


def main(src: str) -> None:
    here = pathlib.Path(__file__).parent
    for kind in KINDS:
        crd = YAML(typ="safe").load(pathlib.Path(src, f"toolhive.stacklok.dev_{kind}.yaml"))
        version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
        out = {
            "group": crd["spec"]["group"],
            "kind": crd["spec"]["names"]["kind"],
            "version": version["name"],
            "openAPIV3Schema": version["schema"]["openAPIV3Schema"],
        }
        (here / f"{kind}.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
