"""Read-only governance views over the registry, the deploy record and the PRs: the inventory,
a deployment's governance history, the policy what-if."""
