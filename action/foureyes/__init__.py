"""foureyes: four-eyes approval for machine-learning model deployments, the GitOps way."""
