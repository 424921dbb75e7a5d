"""Bad-input cases: every input kind and the config gives one clear error (issue 10)."""
