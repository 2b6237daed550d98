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
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .targets import (
    STRING,
    Change,
    Identity,
    Target,
    TargetConfigError,
    TargetError,
    settings_schema,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

# the tags a served version carries in an environment (foureyes.<env>.<field>)
TAG_FIELDS = ("approval", "approvers", "commit", "deployment")
READY = "READY"  # ModelVersionStatus: PENDING_REGISTRATION | FAILED_REGISTRATION | READY
_SAFE = re.compile(r"[a-z][a-z0-9-]*")
# each setting naming the registry, and the variable that names it when the setting is absent
# (MLflow docs, "Environment Variables": MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI)
URI_SETTINGS = {"tracking_uri": "MLFLOW_TRACKING_URI", "registry_uri": "MLFLOW_REGISTRY_URI"}


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

    def __init__(self, settings: dict, root: Path) -> None:
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

    @classmethod
    def config_problems(cls, settings: dict, root: Path | None) -> list[tuple[tuple, str]]:
        """The target must say which registry it moves aliases in. Without `tracking_uri`,
        `registry_uri` or one of their variables wired under `env:`, MLflow takes
        MLFLOW_TRACKING_URI from whatever machine deploys, else a store in the folder it runs in
        (./mlruns, or ./mlflow.db since MLflow 3): a deploy that "succeeds" into a folder on the
        runner. Then each registry it names must outlive the deploy (``store_problem``)."""
        wired = settings.get("env") or {}
        if not any(settings.get(k) for k in URI_SETTINGS) and not any(
            v in wired for v in URI_SETTINGS.values()
        ):
            return [
                (
                    (),
                    "the mlflow target names no registry: set `registry_uri` (or `tracking_uri`) "
                    "to your MLflow server, e.g. `registry_uri: https://mlflow.example.com`, or "
                    "wire MLFLOW_TRACKING_URI under `env:`; without one MLflow would use a local "
                    "./mlruns folder on the machine that deploys",
                )
            ]
        problems: list[tuple[tuple, str]] = []
        for key, variable in URI_SETTINGS.items():
            if settings.get(key):
                found = store_problem(str(settings[key]), f"`{key}`")
                if found:
                    problems.append(((key,), found))
            elif variable in wired and os.environ.get(variable):
                # at the deploy the secret is there: judged like the setting, never quoted
                found = store_problem(os.environ[variable], variable)
                if found:
                    problems.append((("env", variable), found))
        return problems

    def alias(self, change: Change) -> str:
        return str(self.settings.get("alias", change.environment))

    @classmethod
    def serving_identity(
        cls, settings: dict, deployment: dict, environment: str, root: Path
    ) -> Identity | None:
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

    def _served(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at now, or None."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def _untag(self, version: ModelVersion, environment: str) -> None:
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


def local_store(uri: str) -> str | None:
    """Where a registry URI keeps its data when that is this machine: "memory", "relative" (to
    the folder the deploy runs in) or "absolute"; None for a server or a database elsewhere.
    SQLAlchemy's forms (SQLAlchemy docs, "Engine Configuration", SQLite): sqlite:///relative.db,
    sqlite:////absolute.db, sqlite:// in memory; MLflow takes a bare path or file: as a file
    store."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        path = uri.split("://", 1)[1][1:] if "://" in uri else ""
        path, _, query = path.partition("?")
        if path in ("", ":memory:") or "memory" in parse_qs(query).get("mode", []):
            return "memory"
        return "absolute" if path.startswith("/") else "relative"
    if scheme == "file":
        return "absolute" if parts.path.startswith("/") or parts.netloc else "relative"
    if scheme == "":
        return "absolute" if parts.path.startswith("/") else "relative"
    if len(scheme) == 1:  # a Windows drive letter
        return "absolute"
    return None


def store_problem(uri: str, named: str) -> str | None:
    """Why the registry ``uri`` cannot hold what a deploy moves, or None.

    - in memory: refused everywhere, the alias would vanish with the process;
    - a relative path: refused in GitHub Actions (GITHUB_ACTIONS=true). It resolves against the
      checkout, which the next job's actions/checkout wipes (its `clean` input, default true, runs
      `git clean -ffdx`; actions/checkout README) and which a GitHub-hosted runner discards with
      the job: every deploy would start from an empty registry. On a workstation (the demo, a
      trial run) it is the user's own folder, and stays allowed;
    - an absolute path: allowed. A self-hosted runner may keep it on a disk that persists or is
      shared, and validate cannot tell which runner deploys."""
    kind = local_store(uri)
    if kind == "memory":
        return f"{named} names an in-memory database: nothing would outlive the deploy"
    if kind == "relative" and os.environ.get("GITHUB_ACTIONS") == "true":
        return (
            f"{named} is a path relative to the checkout, which GitHub Actions wipes between jobs: "
            "name your MLflow server (https://...) or a database, or an absolute path on a "
            "self-hosted runner's persistent disk"
        )
    return None
