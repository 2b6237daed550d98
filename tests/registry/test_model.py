"""The registry's models: the readings of a deployment every part of foureyes shares."""

from foureyes.registry.model import Deployment

EVERY = ["staging", "production"]


def _dep(**fields: object) -> Deployment:
    return Deployment("registry/deployments/d.yaml", {"name": "d", **fields})


def test_a_deployment_without_a_list_serves_every_environment():
    assert [e for e in EVERY if _dep().serves_in(e, EVERY)] == EVERY


def test_a_listed_deployment_serves_only_where_it_lists():
    assert [e for e in EVERY if _dep(environments=["staging"]).serves_in(e, EVERY)] == ["staging"]


def test_an_empty_list_serves_nowhere_never_everywhere():
    """The schema refuses `environments: []`; should one ever be read, the deploy must not take it
    for "every environment" while the judgment takes it for none."""
    assert [e for e in EVERY if _dep(environments=[]).serves_in(e, EVERY)] == []
