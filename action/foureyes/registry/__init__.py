"""Reading a repository's registry and policies: strict YAML, the files' model and their
schemas (each enforced for the draft it declares), pinned users, and `foureyes validate`."""
