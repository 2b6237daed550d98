"""The mlflow target: a per-environment alias (default: the environment's name) points at the
approved model version, and the version is tagged with the approval record. Deleting removes the
alias. Needs the `mlflow` extra (`pip install foureyes[mlflow]`)."""

from __future__ import annotations

import json

from .targets import STRING, Change, Identity, Target, TargetError, settings_schema


class MlflowTarget(Target):
    settings_schema = settings_schema({k: STRING for k in ("tracking_uri", "registry_uri", "alias")})
    extra, extra_modules = "mlflow", ("mlflow", "sqlalchemy", "alembic")
    # MLflow's client reads MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD and the like; a `databricks`
    # registry reads DATABRICKS_HOST/TOKEN (MLflow docs, "MLflow Authentication"; Databricks docs, "Access the MLflow
    # tracking server from outside Databricks")
    reads_env = ("MLFLOW_*", "DATABRICKS_*")

    def __init__(self, settings: dict, root):
        super().__init__(settings, root)
        from mlflow import MlflowClient  # the extra is only needed where this target is configured

        self.client = MlflowClient(tracking_uri=settings.get("tracking_uri"), registry_uri=settings.get("registry_uri"))

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
        return Identity(("mlflow", registry, model.casefold(), alias.casefold()),
                        f"the MLflow registered model {model}@{alias}", ("model", "name"))

    def apply(self, change: Change) -> str:
        from mlflow.exceptions import MlflowException

        model = change.deployment["model"]
        alias = self.alias(change)
        try:
            if change.action == "delete":
                return self._drop_alias(model["name"], alias)
            previous = (change.previous or {}).get("model") or {}
            if previous.get("name") and previous["name"] != model["name"]:
                self._drop_alias(previous["name"], alias)
            self.client.get_model_version(model["name"], model["version"])  # must exist: fail before moving
            self.client.set_registered_model_alias(model["name"], alias, model["version"])
            tags = {
                f"foureyes.{change.environment}.approval": json.dumps(change.approval, sort_keys=True),
                f"foureyes.{change.environment}.approvers": ",".join(change.approval.get("approvers") or []),
                f"foureyes.{change.environment}.commit": str(change.approval.get("commit", "")),
                f"foureyes.{change.environment}.deployment": change.name,
            }
            for key, value in tags.items():
                self.client.set_model_version_tag(model["name"], model["version"], key, value)
        except MlflowException as exc:
            raise TargetError(f"mlflow: {exc.message}") from None
        return f"alias @{alias} -> {model['name']} v{model['version']}"

    def _drop_alias(self, name: str, alias: str) -> str:
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_registered_model_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return f"alias @{alias} already absent"
            raise
        return f"removed alias @{alias} from {name}"
