"""The kubernetes target: KServe InferenceService manifests whose labels and annotations carry the
approval record. With `context` set it runs `kubectl apply`; without, it writes the manifests to
`path` for a GitOps controller (Argo CD, Flux) to sync.

The check (the dry run's) validates the rendered manifest against KServe's InferenceService
schema, vendored in kserve/, closed against unknown fields (the API server would prune them
silently, so a misspelt field would serve something else than approved), and the object's name and
namespace against Kubernetes' naming rules; with `context` it also sends the manifest to the
cluster with `kubectl apply --dry-run=server` (admission and validation run, nothing is persisted).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .targets import (
    STRING,
    Change,
    Identity,
    Target,
    TargetError,
    file_identity,
    settings_schema,
    writable_folder,
    write_atomically,
)

if TYPE_CHECKING:
    import jsonschema_rs

DOMAIN = "foureyes.dev"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


def label_value(value: object) -> str:
    """Kubernetes label values: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends."""
    text = _LABEL_VALUE.sub("-", str(value))[:63].strip("-_.")
    return text


def render(change: Change, settings: dict) -> dict:
    dep = change.deployment
    model = dep["model"]
    approval = change.approval
    approvers = approval.get("approvers") or []
    labels = {
        "app.kubernetes.io/name": change.name,
        "app.kubernetes.io/managed-by": "foureyes",
        f"{DOMAIN}/environment": label_value(change.environment),
        f"{DOMAIN}/importance": dep["importance"],
        f"{DOMAIN}/approval": label_value(approval.get("status", "unknown")),
        f"{DOMAIN}/model-version": label_value(model["version"]),
    }
    annotations = {
        f"{DOMAIN}/model": f"{model['name']}@{model['version']}",
        f"{DOMAIN}/model-uri": model["uri"],
        f"{DOMAIN}/commit": str(approval.get("commit", "")),
        f"{DOMAIN}/pr": str(approval.get("pr") or ""),
        f"{DOMAIN}/approvers": ",".join(approvers),
        f"{DOMAIN}/approved-at": str(approval.get("approved_at") or ""),
        f"{DOMAIN}/approval-record": json.dumps(approval, sort_keys=True),
    }
    if model.get("digest"):
        annotations[f"{DOMAIN}/model-digest"] = model["digest"]
    predictor_model = {
        "modelFormat": {
            "name": str(settings.get("model_format", dep.get("labels", {}).get("format", "mlflow")))
        },
        "storageUri": model["uri"],
    }
    if settings.get("runtime"):
        predictor_model["runtime"] = str(settings["runtime"])
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": change.name,
            "namespace": str(settings.get("namespace", "default")),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {"predictor": {"model": predictor_model}},
    }


SCHEMA = Path(__file__).with_name("kserve") / "inferenceservice-v1beta1.schema.json"
# "Object Names and IDs" (Kubernetes docs): a namespace is an RFC 1123 label (at most 63
# characters),
# most objects' names, an InferenceService's included, RFC 1123 subdomains (at most 253)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def closed(schema: Any) -> Any:
    """The CRD's structural schema with every object closed: an unknown field is an error."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


@functools.cache
def _isvc_validator() -> jsonschema_rs.Draft7Validator:
    """The CRD's openAPIV3Schema read as draft 7 (the draft OpenAPI 3.0 schemas follow), its
    OpenAPI formats (int32, int64, byte) left unchecked as the draft does not know them."""
    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(
        closed(json.loads(SCHEMA.read_text())), validate_formats=False
    )


def manifest_problems(manifest: dict) -> list[str]:
    """What the API server would refuse or prune in ``manifest``: each as `path: message`."""
    problems = [
        f"{'.'.join(map(str, err.instance_path)) or '(manifest)'}: {err.message}"
        for err in _isvc_validator().iter_errors(manifest)
    ]
    meta = manifest.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    if not (len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
        problems.append(
            f"metadata.name: {name!r} is not a DNS subdomain name (lower-case letters, "
            "digits, '-', '.'; "
            f"a letter or digit at both ends)"
        )
    if not (len(namespace) <= 63 and _DNS_LABEL.fullmatch(namespace)):
        problems.append(
            f"metadata.namespace: {namespace!r} is not a DNS label (at most 63 lower-case letters, "
            f"digits and '-'; a letter or digit at both ends)"
        )
    return problems


class KubernetesTarget(Target):
    settings_schema = settings_schema(
        {k: STRING for k in ("namespace", "model_format", "runtime", "context", "path", "kubectl")},
        anyOf=[{"required": ["context"]}, {"required": ["path"]}],
    )

    @classmethod
    def serving_identity(
        cls, settings: dict, deployment: dict, environment: str, root: Path
    ) -> Identity | None:
        """With `context`: the InferenceService (named after the deployment) in that cluster and
        namespace; with `path`: the manifest file a GitOps controller syncs."""
        if settings.get("context"):
            namespace = str(settings.get("namespace", "default"))
            return Identity(
                ("kserve", str(settings["context"]), namespace, deployment["name"]),
                f"the InferenceService {namespace}/{deployment['name']} in context "
                f"{settings['context']}",
            )
        return file_identity(settings, "path", f"{deployment['name']}.yaml", root)

    def apply(self, change: Change) -> str:
        namespace = str(self.settings.get("namespace", "default"))
        context = self.settings.get("context")
        if context:
            return self._kubectl(change, str(context), namespace)
        path = self.path_setting() / f"{change.name}.yaml"
        if change.action == "delete":
            existed = path.exists()
            path.unlink(missing_ok=True)
            return f"removed {path.name}" if existed else f"{path.name} already absent"
        write_atomically(path, yaml.safe_dump(render(change, self.settings), sort_keys=False))
        return f"wrote {path.name}"

    def check(self, change: Change) -> str:
        namespace = str(self.settings.get("namespace", "default"))
        context = self.settings.get("context")
        if change.action != "delete":
            problems = manifest_problems(render(change, self.settings))
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise TargetError(f"the InferenceService manifest is invalid: {problems[0]}{more}")
        if context:
            found = self._kubectl(change, str(context), namespace, dry_run=True)
            return (
                f"checked: {'schema, then ' if change.action != 'delete' else ''}server-side "
                "dry run in "
                f"context {context}: {found}"
            )
        if change.action == "delete":
            return f"checked: {writable_folder(self.path_setting())}"
        return f"checked: manifest valid for KServe v1beta1; {writable_folder(self.path_setting())}"

    def _kubectl(self, change: Change, context: str, namespace: str, dry_run: bool = False) -> str:
        kubectl = str(self.settings.get("kubectl", "kubectl"))
        # --dry-run=server: "submit server-side request without persisting the resource" (kubectl
        # reference, kubectl apply / kubectl delete)
        server_dry_run = ["--dry-run=server"] if dry_run else []
        if change.action == "delete":
            argv = [
                kubectl,
                "--context",
                context,
                "-n",
                namespace,
                "delete",
                "inferenceservice",
                change.name,
                "--ignore-not-found",
                *server_dry_run,
            ]
            stdin = None
        else:
            argv = [kubectl, "--context", context, "apply", *server_dry_run, "-f", "-"]
            stdin = json.dumps(render(change, self.settings))
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"kubectl failed to run: {exc}") from None
        if proc.returncode != 0:
            raise TargetError(
                f"kubectl exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}"
            )
        return proc.stdout.strip() or "applied"
