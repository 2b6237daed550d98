"""The kubernetes target: KServe InferenceService manifests whose labels and annotations carry the
approval record. With `context` set it runs `kubectl apply`; without, it writes the manifests to
`path` for a GitOps controller (Argo CD, Flux) to sync."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from .targets import STRING, Change, Identity, Target, TargetError, file_identity, settings_schema, write_atomically

DOMAIN = "foureyes.dev"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


def label_value(value) -> str:
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
        "modelFormat": {"name": str(settings.get("model_format", dep.get("labels", {}).get("format", "mlflow")))},
        "storageUri": model["uri"],
    }
    if settings.get("runtime"):
        predictor_model["runtime"] = str(settings["runtime"])
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": change.name, "namespace": str(settings.get("namespace", "default")),
                     "labels": labels, "annotations": annotations},
        "spec": {"predictor": {"model": predictor_model}},
    }


class KubernetesTarget(Target):
    settings_schema = settings_schema(
        {k: STRING for k in ("namespace", "model_format", "runtime", "context", "path", "kubectl")},
        anyOf=[{"required": ["context"]}, {"required": ["path"]}])

    @classmethod
    def serving_identity(cls, settings, deployment, environment, root):
        """With `context`: the InferenceService (named after the deployment) in that cluster and
        namespace; with `path`: the manifest file a GitOps controller syncs."""
        if settings.get("context"):
            namespace = str(settings.get("namespace", "default"))
            return Identity(("kserve", str(settings["context"]), namespace, deployment["name"]),
                            f"the InferenceService {namespace}/{deployment['name']} in context {settings['context']}")
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

    def _kubectl(self, change: Change, context: str, namespace: str) -> str:
        kubectl = str(self.settings.get("kubectl", "kubectl"))
        if change.action == "delete":
            argv = [kubectl, "--context", context, "-n", namespace, "delete", "inferenceservice", change.name,
                    "--ignore-not-found"]
            stdin = None
        else:
            argv = [kubectl, "--context", context, "apply", "-f", "-"]
            stdin = json.dumps(render(change, self.settings))
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"kubectl failed to run: {exc}") from None
        if proc.returncode != 0:
            raise TargetError(f"kubectl exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}")
        return proc.stdout.strip() or "applied"
