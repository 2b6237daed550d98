"""Re-extract KServe's InferenceService v1beta1 schema (the kubernetes target checks manifests with
it).

Source: kserve/kserve config/crd/full/serving.kserve.io_inferenceservices.yaml at commit
aaac4e294dae2c7b1aa1886447793f3aa1c30912 (2026-08-21), Apache-2.0 (LICENSE beside the schema in
action/foureyes/deploy/kserve/).
Kept: spec.versions[name=v1beta1].schema.openAPIV3Schema, unmodified, as compact JSON.
Usage: python tests/kserve/vendor.py path/to/serving.kserve.io_inferenceservices.yaml
"""

import json
import sys
from pathlib import Path

import yaml

crd = yaml.load(Path(sys.argv[1]).read_text(), Loader=yaml.CSafeLoader)
version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
out = (
    Path(__file__).parents[2]
    / "action"
    / "foureyes"
    / "deploy"
    / "kserve"
    / "inferenceservice-v1beta1.schema.json"
)
out.write_text(
    json.dumps(version["schema"]["openAPIV3Schema"], separators=(",", ":"), sort_keys=True) + "\n"
)
print(f"wrote {out} ({out.stat().st_size} bytes)")
