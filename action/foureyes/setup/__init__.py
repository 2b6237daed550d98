"""Setting a repository up: `foureyes init` (the files, the workflows' wiring) and CODEOWNERS."""
