"""The deployment files are well-formed and run the roles the operations guide names."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_compose_file_runs_the_databases_servers_and_one_background_worker() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "serve", "worker"} <= set(services)
    assert services["worker"]["command"] == ["retailor", "worker"]
    assert services["migrate"]["command"] == ["retailor", "db", "migrate"]
    assert "--workers" in services["serve"]["command"]
    env = services["serve"]["environment"]
    assert env["RETAILOR_STORAGE"].startswith("postgresql://")
    assert env["RETAILOR_STATE"].startswith("redis://")


def test_the_kubernetes_sketch_names_every_role() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Job", "retailor-migrate") in kinds
    assert ("Deployment", "retailor-serve") in kinds
    assert ("Deployment", "retailor-worker") in kinds
    for document in documents:
        if document["kind"] in ("Deployment", "Job"):
            for container in document["spec"]["template"]["spec"]["containers"]:
                names = {e["name"] for e in container["env"]}
                assert {"RETAILOR_STORAGE", "RETAILOR_STATE"} <= names
