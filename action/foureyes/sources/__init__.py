"""Where PR facts come from when they do not come from GitHub: a file of PR facts."""
