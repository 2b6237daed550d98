"""The mlflow target: a per-environment alias (default: the environment's name) points at the
approved model version, and the version is tagged with the approval record; once the alias moved,
no other version of the model keeps the environment's tags. Deleting removes the alias and the
tags. Needs the `mlflow` extra (`pip install foureyes[mlflow]`).

What the target verifies, at the dry run's check and again before it moves the alias:
- the registered model and the version exist, and the version's registration is READY;
- the deployment's `uri` names that version: `models:/<name>/<version>`, or exactly the version's
  `source` (what it was registered from, e.g. `s3://...` or `runs:/<run>/model`); anything else
  (another version, an alias such as `models:/<name>@prod`, another path) is refused, since the
  alias would then serve a version the reviewers did not read;
- `digest`: not verified. MLflow keeps no content digest of a model version (a ModelVersion
  carries its source, run id, status and tags; an artifact listing gives paths and sizes), so the
  check says so instead of pretending.
"""

from __future__ import annotations

import json
import re

from .targets import (
    STRING,
    Change,
    Identity,
    Target,
    TargetConfigError,
    TargetError,
    settings_schema,
)

# the tags a served version carries in an environment (foureyes.<env>.<field>)
TAG_FIELDS = ("approval", "approvers", "commit", "deployment")
READY = "READY"  # ModelVersionStatus: PENDING_REGISTRATION | FAILED_REGISTRATION | READY
_SAFE = re.compile(r"[a-z][a-z0-9-]*")


class MlflowTarget(Target):
    settings_schema = settings_schema(
        {k: STRING for k in ("tracking_uri", "registry_uri", "alias")}
    )
    extra, extra_modules = "mlflow", ("mlflow", "sqlalchemy", "alembic")
    # MLflow's client reads MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD and the like; a `databricks`
    # registry reads DATABRICKS_HOST/TOKEN (MLflow docs, "MLflow Authentication"; Databricks docs,
    # "Access the MLflow
    # tracking server from outside Databricks")
    reads_env = ("MLFLOW_*", "DATABRICKS_*")

    def __init__(self, settings: dict, root):
        super().__init__(settings, root)
        try:
            from mlflow import (
                MlflowClient,
            )  # the extra is only needed where this target is configured
        except ImportError as exc:
            raise TargetConfigError(
                f"deploy target 'mlflow' needs an extra: {exc} (try `pip install foureyes[mlflow]`)"
            ) from None

        self.client = MlflowClient(
            tracking_uri=settings.get("tracking_uri"), registry_uri=settings.get("registry_uri")
        )

    def alias(self, change: Change) -> str:
        return str(self.settings.get("alias", change.environment))

    @classmethod
    def serving_identity(cls, settings, deployment, environment, root):
        """The registered model's alias this target moves, in the registry it talks to (without
        `registry_uri` MLflow uses the tracking server's, and without either MLFLOW_TRACKING_URI).
        Names are compared case-folded: whether the registry treats `Fraud-XGB` and `fraud-xgb` as
        one model depends on its database's collation."""
        registry = settings.get("registry_uri") or settings.get("tracking_uri") or ""
        model = str(deployment["model"]["name"])
        alias = str(settings.get("alias", environment))
        return Identity(
            ("mlflow", registry, model.casefold(), alias.casefold()),
            f"the MLflow registered model {model}@{alias}",
            ("model", "name"),
        )

    def check(self, change: Change) -> str:
        from mlflow.exceptions import MlflowException

        model = change.deployment["model"]
        alias = self.alias(change)
        try:
            if change.action == "delete":
                served = self._served(model["name"], alias)
                return (
                    f"checked: would remove alias @{alias} from {model['name']} v{served.version}"
                    if served
                    else f"checked: alias @{alias} already absent from {model['name']}"
                )
            verified = self._verify(model)
        except MlflowException as exc:
            raise TargetError(f"mlflow: {exc.message}") from None
        return f"checked: {verified}"

    def apply(self, change: Change) -> str:
        from mlflow.exceptions import MlflowException

        model = change.deployment["model"]
        alias = self.alias(change)
        try:
            previous = (change.previous or {}).get("model") or {}
            if change.action == "delete":
                message = self._drop_alias(model["name"], alias)
                self._untag_others(change.name, change.environment, keep=None)
                return message
            if previous.get("name") and previous["name"] != model["name"]:
                self._drop_alias(previous["name"], alias)
            self._verify(model)  # fail before moving anything
            replaced = self._served(model["name"], alias)
            self.client.set_registered_model_alias(model["name"], alias, model["version"])
            tags = {
                f"foureyes.{change.environment}.approval": json.dumps(
                    change.approval, sort_keys=True
                ),
                f"foureyes.{change.environment}.approvers": ",".join(
                    change.approval.get("approvers") or []
                ),
                f"foureyes.{change.environment}.commit": str(change.approval.get("commit", "")),
                f"foureyes.{change.environment}.deployment": change.name,
            }
            for key, value in tags.items():
                self.client.set_model_version_tag(model["name"], model["version"], key, value)
            # the tags move with the alias: the replaced version (a rollback's too) keeps none.
            # Tagged
            # first, untagged after, so a run cut short leaves two tagged versions, never none; the
            # record keeps the step unfinished and the next run re-applies it
            if replaced is not None and str(replaced.version) != str(model["version"]):
                self._untag(replaced, change.environment)
            self._untag_others(
                change.name, change.environment, keep=(str(model["name"]), str(model["version"]))
            )
        except MlflowException as exc:
            raise TargetError(f"mlflow: {exc.message}") from None
        return f"alias @{alias} -> {model['name']} v{model['version']}"

    def _verify(self, model: dict) -> str:
        """Raise TargetError unless the version exists, is READY and is the one `uri` names."""
        from mlflow.exceptions import MlflowException

        name, version, uri = str(model["name"]), str(model["version"]), str(model["uri"])
        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise TargetError(
                    f"mlflow: the registered model {name!r} does not exist in {self._where()}"
                ) from None
            raise
        try:
            found = self.client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise TargetError(
                    f"mlflow: {name} has no version {version} in {self._where()}"
                ) from None
            raise
        if found.status and str(found.status) != READY:
            raise TargetError(
                f"mlflow: {name} v{version} is {found.status}, not READY: it has nothing to "
                "serve yet"
            )
        source = str(found.source or "")
        if uri.rstrip("/") == f"models:/{name}/{version}":
            agrees = f"uri names {name} v{version}"
        elif source and uri.rstrip("/") == source.rstrip("/"):
            agrees = "uri is the version's source"
        else:
            raise TargetError(
                f"mlflow: uri {uri!r} does not name {name} v{version}: write "
                f"models:/{name}/{version}"
                + (f" or the version's source {source!r}" if source else "")
            )
        digest = (
            "; digest not verified (MLflow keeps no content digest)" if model.get("digest") else ""
        )
        return f"{name} v{version} exists (READY), {agrees}{digest}"

    def _where(self) -> str:
        """The registry, as configured (without any user:password a URI may carry)."""
        from urllib.parse import urlsplit

        uri = self.settings.get("registry_uri") or self.settings.get("tracking_uri")
        if not uri:
            return "the default registry (MLFLOW_REGISTRY_URI / MLFLOW_TRACKING_URI)"
        parts = urlsplit(str(uri))
        if parts.username or parts.password:
            uri = parts._replace(
                netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")
            ).geturl()
        return f"the registry {uri}"

    def _served(self, name: str, alias: str):
        """The version ``alias`` points at now, or None."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def _untag(self, version, environment: str) -> None:
        for field in TAG_FIELDS:
            key = f"foureyes.{environment}.{field}"
            if key in (version.tags or {}):
                self.client.delete_model_version_tag(version.name, str(version.version), key)

    def _untag_others(
        self, deployment: str, environment: str, keep: tuple[str, str] | None
    ) -> None:
        """Every model version but ``keep`` (name, version) that still carries the environment's
        tags for ``deployment`` loses them: a version it replaced, rolled back from, or served
        under another model name. Found by the deployment tag (both names are [a-z0-9-], checked
        by the bundled schemas; checked again here since they are quoted into a filter)."""
        if not (_SAFE.fullmatch(deployment) and _SAFE.fullmatch(environment)):
            raise TargetError(
                f"mlflow: cannot search for the tags of {deployment!r} in {environment!r}"
            )
        query = f"tags.`foureyes.{environment}.deployment` = '{deployment}'"
        token = None
        while True:
            found = self.client.search_model_versions(query, page_token=token)
            for version in found:
                if (version.name, str(version.version)) != keep:
                    self._untag(version, environment)
            token = found.token
            if not token:
                return

    def _drop_alias(self, name: str, alias: str) -> str:
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_registered_model_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return f"alias @{alias} already absent"
            raise
        return f"removed alias @{alias} from {name}"
